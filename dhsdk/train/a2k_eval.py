"""a2k quality, measured three ways: against real lips, against the teacher on a held-out real
speaker, and against generated held-out voices.

``python -m dhsdk.train.a2k_eval [--model a2k.onnx] [--av DIR] [--speech eng.wav] [--utterances 30]``
prints one JSON line. The model is anything that maps 16 kHz PCM and an fps to (T, 40, 2) canonical
deltas (:meth:`dhsdk.models.a2k_runner.A2K.predict`, or a torch model wrapped by the trainer).

- :func:`real_lips`: on talking clips with measured lips (GRID test sentences), the predicted
  mouth opening vs the person's own, per clip (Pearson r; the best lag within ±200 ms), with the
  same-clip baseline of the loudness envelope; the share of closed frames in silence and in p/b/m
  (:func:`clip_figures`, :func:`summarise`; a measured render gets the same figures from them).
- :func:`teacher_agreement`: on real speech of a speaker never trained on, the predicted opening
  vs the teacher's curve (pocketsphinx phones through the viseme table) and vs loudness.
- :func:`held_out`: generated speech in voices and sentences never trained on.
- :func:`breath_audibility`: not of a model but of the data: whether the audio tells a breath
  taken with open lips from closed-mouth silence (what lets the recipe train the breath).
"""
from __future__ import annotations

import argparse
import json
from typing import Callable

import numpy as np

from dhsdk.audio.phones import BILABIAL
from dhsdk.eval.lipsync import lag_curve, pearson
from dhsdk.geometry import CORNERS, mouth_opening

FPS = 25
CLOSED = 0.03        # inner-lip gap (eye distances) under which the mouth counts as closed
MAX_LAG_S = 0.2      # lag search range of the opening correlation
BREATH_OPEN, BREATH_SHUT = 0.06, 0.015   # eye distances: a silent frame clearly open / closed (breath_frames)

Predict = Callable[[np.ndarray, float], np.ndarray]   # (16 kHz PCM, fps) -> (T, 40, 2) deltas


def within_words(phones: list[tuple[float, float, str]], times: np.ndarray) -> np.ndarray:
    """(T,) bool: the frames at ``times`` (s) from the first spoken phone's start to the last one's
    end. Outside, a speaker may breathe or rest with the mouth open in silence (on GRID s1 at
    the level of closed-mouth silence, told apart only by the breath's spectrum, and trained to a
    slight parting: :func:`dhsdk.train.a2k_data.breath`); the r over these frames says how well
    the lips follow the words themselves."""
    spoken = [(s, e) for s, e, lab in phones if lab != "SIL"]
    if not spoken:
        return np.zeros(len(times), bool)
    return (times >= spoken[0][0]) & (times < spoken[-1][1])


def loudness(pcm: np.ndarray, fps: float, frames: int) -> np.ndarray:
    """(frames,) dB level of the audio under each video frame (the no-model baseline)."""
    from dhsdk.pipeline.activity import frame_energy_db

    return frame_energy_db(pcm, 16000, fps, frames)


def clip_figures(opening: np.ndarray, real: np.ndarray, found: np.ndarray, pcm: np.ndarray, fps: float,
                 phones: list[tuple[float, float, str]]) -> dict:
    """How one clip's shown mouth opening follows the person's real one.

    Args:
        opening: (T,) inner-lip gap shown (predicted, or measured on a render), eye distances.
        real: (T,) the person's measured gap; found: (T,) bool frames where both were measured.
        pcm: the clip's 16 kHz soundtrack; fps: its frame rate.
        phones: (start s, end s, label) alignment of the soundtrack.

    Returns:
        ``r`` (Pearson at lag 0 over ``found``), ``r_words`` (the same within the words,
        :func:`within_words`), ``r_best`` and ``lag_ms`` (peak and lag within ±200 ms),
        ``loudness_r`` (the audio level's r), and per-frame bools: ``silence`` (frames away from
        speech shown closed), ``pbm`` (one per p/b/m phone: a closed frame inside),
        ``pbm_frames`` (frames inside p/b/m phones shown closed).
    """
    from dhsdk.train.visemes import speech_near

    t = len(opening)
    times = np.arange(t) / fps
    curve = lag_curve(np.nan_to_num(opening), np.nan_to_num(real), fps, MAX_LAG_S * 1000, found, found)
    words = found & within_words(phones, times)
    speech = speech_near(phones, int(np.ceil(times[-1] * 100)) + 1)[np.round(times * 100).astype(int)]
    closed = opening < CLOSED
    pbm, pbm_frames = [], []
    for start, end, lab in phones:
        if lab in BILABIAL:
            inside = (times >= start - 0.5 / fps) & (times < end + 0.5 / fps)
            if inside.any():
                pbm.append(bool(closed[inside].any()))
                pbm_frames += list(closed[inside])
    return {"r": pearson(opening[found], real[found]), "r_words": pearson(opening[words], real[words]),
            "r_best": curve.peak, "lag_ms": curve.best_ms,
            "loudness_r": pearson(loudness(pcm, fps, t)[found], real[found]),
            "silence": list(closed[~speech & found]), "pbm": pbm, "pbm_frames": pbm_frames}


def summarise(rows: list[dict]) -> dict:
    """Figures over clips from :func:`clip_figures` rows.

    Returns:
        ``opening_corr`` (mean per-clip r), ``opening_corr_words``, ``opening_corr_best`` (means),
        ``best_lag_ms`` (median), ``loudness_corr`` (mean), ``silence_closed``, ``pbm_closed``,
        ``pbm_frames_closed`` (shares over all clips' frames or phones; nan when there are none),
        ``clips``.
    """
    def share(key: str) -> float:
        values = sum((r[key] for r in rows), [])
        return float(np.mean(values)) if values else float("nan")

    return {"clips": len(rows), "opening_corr": float(np.nanmean([r["r"] for r in rows])),
            "opening_corr_words": float(np.nanmean([r["r_words"] for r in rows])),
            "opening_corr_best": float(np.nanmean([r["r_best"] for r in rows])),
            "best_lag_ms": float(np.nanmedian([r["lag_ms"] for r in rows])),
            "loudness_corr": float(np.nanmean([r["loudness_r"] for r in rows])),
            "silence_closed": share("silence"), "pbm_closed": share("pbm"), "pbm_frames_closed": share("pbm_frames")}


def real_lips(predict: Predict, clips: list) -> dict:
    """Predicted vs measured mouth opening on talking clips (:class:`dhsdk.train.av_data.AVClip`
    with phones).

    Returns:
        :func:`summarise` of the clips, and ``per_clip`` r values.
    """
    rows = []
    for clip in clips:
        pred = predict(clip.pcm, clip.fps)[:len(clip.lips)]
        t = len(pred)
        rows.append(clip_figures(mouth_opening(clip.neutral + pred), clip.opening[:t], clip.found[:t], clip.pcm,
                                 clip.fps, clip.phones))
    return {**summarise(rows), "per_clip": [round(r["r"], 3) for r in rows]}


def teacher_agreement(predict: Predict, pcm: np.ndarray, phones: list[tuple[float, float, str]],
                      window_s: float = 5.0) -> dict:
    """Predicted opening vs the teacher's curve on real speech, in windows of ``window_s``.

    Returns:
        ``teacher_corr`` / ``loudness_corr``: mean r over windows with speech of the prediction
        against the teacher curve and against the audio level; ``windows``.
    """
    from dhsdk.models.lipshape import coeffs_to_deltas, template
    from dhsdk.train.visemes import targets

    pred = mouth_opening(template() + predict(pcm, FPS))
    tgt = targets(phones, len(pcm) / 16000)
    idx = np.clip(np.round(np.arange(len(pred)) * 100 / FPS).astype(int), 0, len(tgt) - 1)
    teach = mouth_opening(template() + coeffs_to_deltas(tgt[idx]))
    level = loudness(pcm, FPS, len(pred))
    step = int(window_s * FPS)
    rt, rl = [], []
    for a in range(0, len(pred) - step // 2, step):
        sl = slice(a, a + step)
        if teach[sl].std() > 1e-3:
            rt.append(pearson(pred[sl], teach[sl]))
            rl.append(pearson(level[sl], teach[sl]))
    return {"windows": len(rt), "teacher_corr": float(np.nanmean(rt)) if rt else float("nan"),
            "loudness_corr": float(np.nanmean(rl)) if rl else float("nan")}


def held_out(predict_windows: Callable[[np.ndarray], np.ndarray], utterances: int, seed: int = 7777) -> dict:
    """Metrics vs targets on generated speech in validation voices with unseen random texts.

    The targets come from the hand-made viseme table (:data:`dhsdk.train.visemes.FALLBACK`: the
    first a2k model's articulation classes), not from the fitted table a model was trained
    with, so the figures stay comparable across models and recipes.

    Args:
        predict_windows: (B, 80, W) mel windows -> (B, 40, 2) deltas.
    """
    from dhsdk.models.a2k_runner import mel_windows
    from dhsdk.models.lipshape import coeffs_to_deltas, template
    from dhsdk.train.a2k_data import VAL_VOICES, make_utterance
    from dhsdk.train.visemes import complete

    width = template()[CORNERS[1], 0] - template()[CORNERS[0], 0]
    errs, po, to, sil, pbm = [], [], [], [], []
    for i in range(utterances):
        u = make_utterance(seed + i, VAL_VOICES, table=complete({}))[0]
        idx = np.minimum(np.floor(np.arange(round(len(u.mel) * FPS / 100)) * 100 / FPS).astype(int), len(u.target) - 1)
        tgt = coeffs_to_deltas(u.target[idx])
        pred = predict_windows(mel_windows(u.mel, 0, idx))
        errs.append(np.linalg.norm(pred - tgt, axis=-1).mean(1) / width)
        p_op, t_op = mouth_opening(template() + pred), mouth_opening(template() + tgt)
        po.append(p_op)
        to.append(t_op)
        sil.append(p_op[np.all(u.target[idx] == 0, axis=1)] < CLOSED)
        pbm.append(p_op[u.target[idx, 5] == 1] < CLOSED)
    return {"keypoint_err_over_mouth_width": float(np.concatenate(errs).mean()),
            "opening_corr": pearson(np.concatenate(po), np.concatenate(to)),
            "pbm_closed_frac": float(np.concatenate(pbm).mean()),
            "silence_closed_frac": float(np.concatenate(sil).mean())}


def breath_frames(clip) -> tuple[np.ndarray, np.ndarray]:
    """A clip's silent frames before its first word (150 ms or more from any speech, after the
    first 0.2 s) whose mouth is clearly open or closed: ((N, 160) features: the log-mel's mean
    less the clip's mean silence, and its spread, over +-100 ms; (N,) bool open)."""
    from dhsdk.audio import log_mel
    from dhsdk.train.visemes import speech_near

    mel = log_mel(clip.pcm)
    near = speech_near(clip.phones, len(mel))
    reach = np.convolve(near.astype(np.float32), np.ones(31), mode="same") > 0
    first = min((s for s, _, lab in clip.phones if lab != "SIL"), default=0.0)
    silence = mel[~near].mean(axis=0) if (~near).any() else mel.mean(axis=0)
    opening, found = clip.opening, clip.found   # properties computed over every frame: once
    features, shown_open = [], []
    for i in range(len(opening)):
        t, k, gap = i / clip.fps, int(round(i / clip.fps * 100)), opening[i]
        if (k < len(mel) and found[i] and not reach[k] and 0.2 <= t < first
                and not BREATH_SHUT <= gap <= BREATH_OPEN):
            seg = mel[max(0, k - 10):k + 11]
            features.append(np.concatenate([seg.mean(axis=0) - silence, seg.std(axis=0)]))
            shown_open.append(gap > BREATH_OPEN)
    return np.reshape(features, (-1, 2 * mel.shape[1])), np.array(shown_open, bool)


def breath_audibility(train, test) -> dict:
    """Can the audio tell a breath taken with open lips from closed-mouth silence? A logistic
    read of :func:`breath_frames` fitted on ``train`` clips, its ROC AUC on ``test`` clips (0.5:
    no; 1: always): the premise of :func:`dhsdk.train.a2k_data.breath`.

    Returns:
        ``auc``, ``train_frames``, ``test_frames``, ``test_open_frames``.
    """
    def stack(clips):
        parts = [breath_frames(c) for c in clips]
        return np.concatenate([x for x, _ in parts]), np.concatenate([y for _, y in parts])

    (xa, ya), (xb, yb) = stack(train), stack(test)
    mu, sd = xa.mean(axis=0), xa.std(axis=0) + 1e-6
    a, b = (xa - mu) / sd, (xb - mu) / sd
    w, bias = np.zeros(a.shape[1]), 0.0
    for _ in range(2000):   # gradient descent on the L2-regularised logistic loss
        err = 1.0 / (1.0 + np.exp(-(a @ w + bias))) - ya
        w -= 0.1 * (a.T @ err / len(err) + 1e-2 * w)
        bias -= 0.1 * float(err.mean())
    score = b @ w + bias
    auc = float((score[yb][:, None] > score[~yb][None, :]).mean()) if yb.any() and (~yb).any() else float("nan")
    return {"auc": auc, "train_frames": len(ya), "test_frames": len(yb), "test_open_frames": int(yb.sum())}


def main() -> None:
    from pathlib import Path

    from dhsdk.models.a2k_runner import A2K

    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--model", default=None, help="a2k ONNX (the shipped one by default)")
    p.add_argument("--av", default=None, help="folder of GRID-style talking clips: evaluates its test split")
    p.add_argument("--speech", nargs="*", default=[], help="real speech of speakers never trained on")
    p.add_argument("--utterances", type=int, default=30, help="generated held-out utterances (0: skip)")
    args = p.parse_args()
    model = A2K.load(args.model)
    out: dict = {}
    if args.av:
        from dhsdk.train.a2k import grid_split
        from dhsdk.train.av_data import GRID_AUDIO_SKIP, load

        test = grid_split()["test"]
        out["real_lips"] = real_lips(model.predict, load([Path(args.av) / f"{n}.mp4" for n in test],
                                                         audio_skip=GRID_AUDIO_SKIP))
    if args.speech:
        from dhsdk.train.teacher import SpeechSource, labelled

        out["teacher"] = {name: teacher_agreement(model.predict, pcm, phones) for name, pcm, phones in
                          labelled([SpeechSource(Path(s), "en") for s in args.speech])}
    if args.utterances:
        out["held_out"] = held_out(model.infer, args.utterances)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
