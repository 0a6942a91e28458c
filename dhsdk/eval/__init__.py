"""Automated evaluation of output videos (``dhsdk eval``): lip-sync judged by numbers.

Public API:

- :func:`evaluate` / :func:`evaluate_set`: one video or a set, every check with a threshold and
  a verdict (:class:`EvalReport`, :class:`EvalSet`);
- :func:`mouth_track` (:class:`MouthTrack`), :func:`av_offset`, :func:`compare`: the lip-sync
  measurements themselves, for benchmarks and trainers;
- :func:`save_eval_sheet`: the PNG.

Nothing here is imported by ``import dhsdk``; heavy dependencies load when a video is read.
"""
from dhsdk.eval.checks import GROUPS, CheckGroup, EvalClip
from dhsdk.eval.evaluate import evaluate, evaluate_clip, evaluate_set, load_clip
from dhsdk.eval.lipsync import MouthTrack, av_offset, compare, mouth_track
from dhsdk.eval.report import EvalReport, EvalSet
from dhsdk.eval.sheet import save_eval_sheet

__all__ = ["GROUPS", "CheckGroup", "EvalClip", "EvalReport", "EvalSet", "MouthTrack", "av_offset", "compare",
           "evaluate", "evaluate_clip", "evaluate_set", "load_clip", "mouth_track", "save_eval_sheet"]
