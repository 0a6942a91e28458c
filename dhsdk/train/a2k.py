"""Train the a2k model on real and generated speech and export the shipped ONNX weights.

``python -m dhsdk.train.a2k --av ../shared/data/grid_s1 [--minutes 55] [--steps 30000]``
(also ``dhsdk train a2k``). The recipe (PROVENANCE.md next to the weights says what it was run on):

1. **Data** (:mod:`dhsdk.train.a2k_data`): the GRID-style talking clips of ``--av`` measured by the
   face tracker (real lips; the fixed split of ``assets/a2k/grid_split.json``: training sentences
   only), real speech labelled by the pocketsphinx teacher (:mod:`dhsdk.train.teacher`), and
   generated English/Mandarin speech in many espeak voices; all augmented.
2. **Viseme table** (:mod:`dhsdk.train.visemes`): fitted on the training clips' real lips first, so
   teacher and generated targets speak the same lip language as the measured ones.
3. **Optimisation** (:func:`fit`): AdamW, cosine schedule, keypoint-space loss with extra weight on
   the mouth opening over random windows, plus runs of consecutive frames whose predicted opening
   must rise and fall with the target's (:func:`corr_loss`: the per-frame loss alone rewards the
   average shape, not following a sentence); validated every ``--every`` steps on the validation
   sentences (mouth-opening correlation with the real lips), the best weights kept.
4. **Ensemble**: ``--members`` nets (3 by default) are trained so, one after another on the same
   data, from seeds ``seed``, ``seed + 1``, ...; the exported model averages their coefficients
   (:class:`~dhsdk.models.a2k.A2KEnsemble`).

Checkpoints go to ``--workdir`` (``<dhsdk cache>/a2k-train`` by default, one per member), never into
the repo; a run interrupted for any reason resumes from its checkpoints when started again with the
same recipe.
:func:`fit` is the optimisation loop both a2k trainers share: this one, and the per-person
fine-tuning of :mod:`dhsdk.train.a2k_adapt`.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

import numpy as np

ASSETS = Path(__file__).resolve().parents[1] / "assets" / "a2k"
DEFAULT_OUT = ASSETS / "a2k.onnx"
SPLIT_PATH = ASSETS / "grid_split.json"
MIX = {"real": 0.3, "teacher": 0.3, "generated": 0.4}   # batch share of each data source
OPENING_WEIGHT = 2.0    # extra loss weight of the inner-lip gap (the mouth opening everything is judged by)
SEQ_FRAMES = 48         # video frames (1.92 s at 25 fps) per run of the sequence loss
SEQ_STRIDE = 4          # mel frames between a run's video frames (25 fps)
SEQ_WEIGHT = 0.5        # weight of the runs' per-frame loss
CORR_WEIGHT = 0.5       # weight of the runs' opening-correlation loss (1 - r per run)


def grid_split() -> dict[str, Any]:
    """The fixed GRID split: ``test`` and ``val`` sentence names, ``avatar`` (a training clip)."""
    return json.loads(SPLIT_PATH.read_text())


def grid_training_paths(av: Path) -> list[Path]:
    """The GRID clips in folder ``av`` that a2k trains on: all but the split's test and
    validation sentences, in name order."""
    split = grid_split()
    held = set(split["test"]) | set(split["val"])
    return [p for p in sorted(Path(av).glob("*.mp4")) if p.stem not in held]


@dataclass
class Recipe:
    """What :func:`train` builds and how long it trains.

    Attributes:
        steps: maximum optimiser steps.
        minutes: wall-time bound of the optimisation.
        generated: generated utterances.
        real_copies: augmented copies of each real clip (besides the clean one).
        teacher_copies: augmented copies of each teacher-labelled recording.
        generated_copies: strongly augmented copies of each generated utterance.
        batch: random windows per step.
        runs: runs of :data:`SEQ_FRAMES` consecutive frames per step (the sequence loss; 0: none).
        lr: peak learning rate.
        every: steps between validations and checkpoints.
        seed: every random choice (member ``i`` trains from ``seed + i``).
        members: nets trained and averaged (1: a single :class:`~dhsdk.models.a2k.A2KNet`).
    """

    steps: int = 30000
    minutes: float = 55.0
    generated: int = 600
    real_copies: int = 3
    teacher_copies: int = 8
    generated_copies: int = 1
    batch: int = 256
    runs: int = 4
    lr: float = 2e-3
    every: int = 1000
    seed: int = 0
    members: int = 3

    def key(self, data: str) -> str:
        """Fingerprint of what one member's training depends on (the recipe's other fields and
        the data), for resuming."""
        fields = {k: v for k, v in asdict(self).items() if k not in ("steps", "minutes", "members")}
        return hashlib.sha256(json.dumps([fields, data], sort_keys=True).encode()).hexdigest()[:16]


def add_arguments(p: argparse.ArgumentParser) -> None:
    """CLI flags of ``dhsdk train a2k``."""
    r = Recipe()
    p.add_argument("--av", required=True, help="folder of GRID-style talking clips with sound (../shared/data/grid_s1)")
    p.add_argument("--shared", default=None, help="../shared/data: its non-English speech joins the teacher's data "
                                                  "(default: the --av folder's parent)")
    p.add_argument("--steps", type=int, default=r.steps, help="maximum optimiser steps")
    p.add_argument("--minutes", type=float, default=r.minutes, help="wall-time bound of the optimisation")
    p.add_argument("--generated", type=int, default=r.generated, help="generated training utterances")
    p.add_argument("--seed", type=int, default=r.seed)
    p.add_argument("--members", type=int, default=r.members, help="nets trained from successive seeds and averaged")
    p.add_argument("--threads", type=int, default=2, help="torch CPU threads")
    p.add_argument("--out", default=str(DEFAULT_OUT), help="ONNX output path (its folder also gets visemes.json "
                                                           "and metrics.json)")
    p.add_argument("--workdir", default=None, help="checkpoint folder (default: <dhsdk cache>/a2k-train)")


def batches(pool, batch: int, runs: int, rng: np.random.Generator, mix: dict[str, float]) -> Iterator[tuple]:
    """Endless training batches from a :class:`~dhsdk.train.a2k_data.Pool`: (B, 80, W) mel windows
    and (B, K) coefficient targets drawn at random, then ``runs`` runs of :data:`SEQ_FRAMES`
    consecutive video frames as (runs * SEQ_FRAMES, 80, W) windows and their targets."""
    while True:
        yield pool.batch(batch, rng, mix) + (pool.sequences(runs, SEQ_FRAMES, SEQ_STRIDE, rng, mix) if runs else ())


@dataclass
class Schedule:
    """How long and how fast :func:`fit` trains.

    Attributes:
        steps: maximum optimiser steps.
        minutes: wall-time bound (of this call; a resumed run gets it afresh).
        lr: peak AdamW learning rate; cosine decay over whichever bound (steps or time) is nearer.
        warmup: steps of linear warm-up.
        every: steps between checkpoints (and validations, when the run validates).
        patience: validations without improvement before stopping early.
    """

    steps: int
    minutes: float
    lr: float = 2e-3
    warmup: int = 100
    every: int = 1000
    patience: int = 5


@dataclass
class FitState:
    """Where a run is; a checkpoint holds it to resume.

    Attributes:
        step: optimiser steps done.
        losses: training loss per step.
        best: lowest validation score so far (inf when the run does not validate).
        best_state: the model's weights at ``best`` (None without validation).
        stale: validations since ``best``.
        optim: the optimiser's state dict at the last checkpoint.
    """

    step: int = 0
    losses: list[float] = field(default_factory=list)
    best: float = float("inf")
    best_state: dict[str, Any] | None = None
    stale: int = 0
    optim: dict[str, Any] | None = None


def _gap(coeffs):
    """(B, K) lip-shape coefficients (or their difference) -> (B, 40, 2) deltas, (B,) inner-lip gap."""
    import torch

    from dhsdk.geometry import INNER_BOTTOM, INNER_TOP
    from dhsdk.models import lipshape

    deltas = torch.einsum("bk,kpc->bpc", coeffs, torch.from_numpy(lipshape.basis()).to(coeffs.dtype))
    return deltas, deltas[:, INNER_BOTTOM, 1] - deltas[:, INNER_TOP, 1]


def loss_fn(pred, target):
    """Loss between (B, K) predicted and target lip-shape coefficients, measured on the lips.

    Smooth-L1 (beta 0.01 eye distances) over the 40 canonical keypoint deltas the coefficients
    make, plus :data:`OPENING_WEIGHT` times the same on the inner-lip gap; scaled by 1/0.05 so a
    typical error is of order 1.
    """
    import torch

    diff, gap = _gap(pred - target)
    point = torch.nn.functional.smooth_l1_loss(diff, torch.zeros_like(diff), beta=0.01)
    opening = torch.nn.functional.smooth_l1_loss(gap, torch.zeros_like(gap), beta=0.01)
    return (point + OPENING_WEIGHT * opening) / 0.05


def corr_loss(pred, target, length: int):
    """Mean ``1 - r`` between predicted and target mouth opening over runs of ``length`` frames.

    A per-frame loss rewards the average shape; this one rewards following the target's rises
    and falls within a sentence, which is what the opening correlation judges. Runs whose target
    hardly moves (gap std < 0.01 eye distances, e.g. silence) are left out.

    Args:
        pred, target: (R * length, K) coefficients, run by run.
    """
    p = _gap(pred)[1].view(-1, length)
    t = _gap(target)[1].view(-1, length)
    keep = t.std(dim=1) > 0.01
    if not bool(keep.any()):
        return pred.sum() * 0.0
    p = p[keep] - p[keep].mean(dim=1, keepdim=True)
    t = t[keep] - t[keep].mean(dim=1, keepdim=True)
    return (1.0 - (p * t).sum(1) / (p.norm(dim=1) * t.norm(dim=1) + 1e-6)).mean()


def batch_loss(model, batch: tuple):
    """Training loss of one batch: (x, y) random windows, optionally followed by (xs, ys) runs of
    :data:`SEQ_FRAMES` frames (:func:`batches`) that add :data:`SEQ_WEIGHT` of their per-frame loss
    and :data:`CORR_WEIGHT` of :func:`corr_loss`."""
    import torch

    x, y, *runs = (torch.from_numpy(a) for a in batch)
    loss = loss_fn(model.coeffs(x), y)
    if runs:
        xs, ys = runs
        pred = model.coeffs(xs)
        loss = loss + SEQ_WEIGHT * loss_fn(pred, ys) + CORR_WEIGHT * corr_loss(pred, ys, SEQ_FRAMES)
    return loss


def fit(model, data: Iterator[tuple[np.ndarray, ...]], schedule: Schedule,
        validate: Callable[[Any], float] | None = None, state: FitState | None = None,
        on_checkpoint: Callable[[Any, FitState], None] | None = None, desc: str = "a2k train"):
    """Train an a2k network (:class:`~dhsdk.models.a2k.A2KNet`, or a whole
    :class:`~dhsdk.models.a2k.A2KEnsemble` when adapting one) on coefficient targets.

    Args:
        model: the network (trained in place).
        data: endless batches of (B, 80, W) float32 log-mel windows and (B, K) float32 targets,
            optionally followed by runs of consecutive frames (see :func:`batch_loss`).
        schedule: steps, time bound, learning rate, checkpoint interval, patience.
        validate: score of the model on held-out data, lower is better (called under no_grad
            before the first step, every ``schedule.every`` steps and at the end). With it the
            best weights, the starting ones included, are kept and the run stops early after
            ``schedule.patience`` validations without improvement.
        state: a resumed :class:`FitState` (its ``step`` and optimiser state carry on).
        on_checkpoint: called with (model, state) every ``schedule.every`` steps and at the end.
        desc: progress-bar label.

    Returns:
        (the model in eval mode, with the best weights when validating; the final FitState).
    """
    import torch

    from dhsdk.progress import progress

    state = state or FitState()
    opt = torch.optim.AdamW(model.parameters(), lr=schedule.lr, weight_decay=1e-4)
    if state.optim is not None:
        opt.load_state_dict(state.optim)

    def score() -> float:
        model.eval()
        with torch.no_grad():
            value = float(validate(model))
        model.train()
        return value

    if validate is not None and state.best_state is None:
        state.best, state.best_state = score(), {k: v.clone() for k, v in model.state_dict().items()}
    model.train()
    start = time.monotonic()
    for step in progress(range(state.step, schedule.steps), total=max(0, schedule.steps - state.step),
                         desc=desc, unit="step"):
        elapsed = time.monotonic() - start
        done = min(1.0, max(step / schedule.steps, elapsed / (schedule.minutes * 60)))
        for group in opt.param_groups:
            group["lr"] = schedule.lr * min(1.0, (step + 1) / schedule.warmup) * 0.5 * (1 + np.cos(np.pi * done))
        loss = batch_loss(model, next(data))
        opt.zero_grad()
        loss.backward()
        opt.step()
        state.losses.append(loss.item())
        state.step = step + 1
        last = state.step == schedule.steps or time.monotonic() - start > schedule.minutes * 60
        if state.step % schedule.every and not last:
            continue
        if validate is not None:
            value = score()
            if value < state.best:
                state.best, state.stale = value, 0
                state.best_state = {k: v.clone() for k, v in model.state_dict().items()}
            else:
                state.stale += 1
        state.optim = opt.state_dict()
        if on_checkpoint is not None:
            on_checkpoint(model, state)
        if last or (validate is not None and state.stale >= schedule.patience):
            break
    if state.best_state is not None:
        model.load_state_dict(state.best_state)
    return model.eval(), state


def torch_predict(model) -> Callable[[np.ndarray, float], np.ndarray]:
    """``predict(pcm16k, fps) -> (T, 40, 2)`` deltas of a torch a2k network, exactly as the runner frames it."""
    import torch

    from dhsdk.audio import log_mel
    from dhsdk.models.a2k_runner import frame_count, mel_centre, mel_windows

    def predict(pcm: np.ndarray, fps: float) -> np.ndarray:
        windows = mel_windows(log_mel(pcm), 0, mel_centre(np.arange(frame_count(len(pcm), fps)), fps))
        with torch.no_grad():
            return model.eval()(torch.from_numpy(windows)).numpy()

    return predict


@dataclass
class Data:
    """Everything :func:`train` trains and validates on.

    Attributes:
        pool: the training windows (:class:`~dhsdk.train.a2k_data.Pool`).
        val: validation clips with measured lips.
        visemes: the viseme table fitted on the training clips.
        counts: sizes per source (clips, utterances, frames), for the provenance.
    """

    pool: Any
    val: list
    visemes: dict[str, np.ndarray]
    counts: dict[str, Any] = field(default_factory=dict)


def build_data(recipe: Recipe, av: Path, shared: Path | None, table_out: Path | None = None,
               show_progress: bool = True) -> Data:
    """Measure, label, fit the viseme table, synthesize and augment (see the module docstring).

    Args:
        av: folder of GRID-style clips (``<name>.mp4`` + ``<name>.align``) holding the split's names.
        shared: folder with the extra non-English speech (``sun.wav``, ``yongen.wav``), or None.
        table_out: write the fitted viseme table here (JSON) before the teacher and generated
            targets are made with it.
    """
    from dhsdk.errors import InputError
    from dhsdk.models.a2k import FUTURE, PAST
    from dhsdk.progress import progress
    from dhsdk.train import a2k_data, av_data, teacher, visemes
    from dhsdk.train.a2k_adapt import project

    split = grid_split()
    if not set(split["val"]) <= {p.stem for p in Path(av).glob("*.mp4")}:
        raise InputError(f"{av} does not hold the GRID sentences of {SPLIT_PATH.name} (e.g. {split['val'][0]}.mp4): "
                         f"give --av ../shared/data/grid_s1")
    skip = av_data.GRID_AUDIO_SKIP
    train_clips = av_data.load(grid_training_paths(av), show_progress=show_progress, audio_skip=skip)
    val_clips = av_data.load([Path(av) / f"{n}.mp4" for n in split["val"]], show_progress=show_progress,
                             audio_skip=skip)

    def example(clip):
        coeffs = project(np.nan_to_num(clip.deltas))
        coeffs[~clip.found] = np.nan
        return clip.phones, np.arange(len(clip.lips)) / clip.fps, coeffs

    fitted = visemes.fit_table([example(c) for c in train_clips])
    table = visemes.complete(fitted)
    if table_out is not None:
        from dhsdk.atomic import atomic_file

        with atomic_file(table_out) as tmp:
            Path(tmp).write_text(json.dumps({"fitted_on": f"{len(train_clips)} GRID s1 training sentences (CC BY 4.0)",
                                             "coarticulation_s": visemes.COARTICULATION_S,
                                             "visemes": {k: [round(float(x), 4) for x in v] for k, v in fitted.items()}},
                                            indent=1) + "\n")
    rng = np.random.default_rng(recipe.seed)
    utts = []
    for clip in progress(train_clips, desc="augment real", unit="clip", enabled=show_progress):
        utts += a2k_data.real_utterances(clip, recipe.real_copies, rng)
    speech = teacher.labelled(teacher.default_sources(shared), show_progress=show_progress)
    for _, pcm, phones in speech:
        utts += a2k_data.teacher_utterances(pcm, phones, recipe.teacher_copies, rng, table)
    for i in progress(range(recipe.generated), desc="generate speech", unit="utt", enabled=show_progress):
        utts += a2k_data.make_utterance(recipe.seed * 100003 + i, a2k_data.TRAIN_VOICES, recipe.generated_copies, table)
    pool = a2k_data.Pool(utts, PAST, FUTURE)
    counts = {"real_clips": len(train_clips), "val_clips": len(val_clips), "teacher_files": [n for n, *_ in speech],
              "teacher_seconds": round(sum(len(p) for _, p, _ in speech) / 16000, 1),
              "generated_utterances": recipe.generated,
              "frames": {s: pool.frames(s) for s in pool.sources}}
    return Data(pool, val_clips, table, counts)


def train(recipe: Recipe, av: Path, shared: Path | None, workdir: Path, table_out: Path | None = None,
          show_progress: bool = True, threads: int = 2):
    """Build the data, train each member (resuming matching checkpoints in ``workdir``), keep the
    best weights of each.

    Returns:
        (the model in eval mode: an :class:`~dhsdk.models.a2k.A2KEnsemble` of ``recipe.members``
        nets, or the one :class:`~dhsdk.models.a2k.A2KNet`; the final :class:`FitState` of each
        member; the :class:`Data`).
    """
    import torch

    from dhsdk.errors import InputError
    from dhsdk.models.a2k import A2KEnsemble

    if recipe.members < 1:
        raise InputError(f"members must be at least 1 (nets trained and averaged), got {recipe.members}")
    torch.set_num_threads(threads)
    data = build_data(recipe, av, shared, table_out, show_progress)
    key = recipe.key(json.dumps(data.counts, sort_keys=True))
    members, states = [], []
    for i in range(recipe.members):
        net, state = train_member(recipe, i, data, Path(workdir), key)
        members.append(net)
        states.append(state)
    model = A2KEnsemble(members).eval() if recipe.members > 1 else members[0]
    return model, states, data


def train_member(recipe: Recipe, index: int, data: Data, workdir: Path, key: str):
    """Train member ``index`` from seed ``recipe.seed + index`` on ``data``, resuming its
    checkpoint (``a2k.ckpt``, ``a2k-<index>.ckpt``) when ``key`` matches.

    Returns:
        (the :class:`~dhsdk.models.a2k.A2KNet` in eval mode with its best weights, its final
        :class:`FitState`).
    """
    import torch

    from dhsdk.atomic import atomic_file
    from dhsdk.models.a2k import A2KNet
    from dhsdk.train.a2k_eval import real_lips

    seed = recipe.seed + index
    torch.manual_seed(seed)
    model, state = A2KNet(), FitState()
    ckpt = workdir / ("a2k.ckpt" if index == 0 else f"a2k-{index}.ckpt")
    if ckpt.is_file():
        saved = torch.load(ckpt, map_location="cpu", weights_only=False)
        if saved.get("key") == key:
            model.load_state_dict(saved["model"])
            state = FitState(**saved["state"])
            print(f"member {index}: resuming from {ckpt} at step {state.step}")
    predict = torch_predict(model)

    def validate(_model) -> float:
        return 1.0 - real_lips(predict, data.val)["opening_corr"]

    def save(model, state: FitState) -> None:
        workdir.mkdir(parents=True, exist_ok=True)
        with atomic_file(ckpt) as tmp:
            torch.save({"key": key, "model": model.state_dict(), "state": vars(state)}, tmp)

    schedule = Schedule(recipe.steps, recipe.minutes, recipe.lr, warmup=200, every=recipe.every, patience=8)
    rng = np.random.default_rng([seed, state.step])
    desc = f"a2k train {index + 1}/{recipe.members}" if recipe.members > 1 else "a2k train"
    return fit(model, batches(data.pool, recipe.batch, recipe.runs, rng, MIX), schedule, validate, state, save, desc)


def run(args: argparse.Namespace) -> int:
    """Train, export to ``args.out`` (checked against torch) and write ``metrics.json`` beside it."""
    from dhsdk.paths import cache_root
    from dhsdk.train.a2k_adapt import export_checked
    from dhsdk.train.a2k_eval import real_lips
    from dhsdk.train.av_data import GRID_AUDIO_SKIP, load

    out = Path(args.out)
    av = Path(args.av)
    shared = Path(args.shared) if args.shared else av.parent
    recipe = Recipe(steps=args.steps, minutes=args.minutes, generated=args.generated, seed=args.seed,
                    members=args.members)
    workdir = Path(args.workdir) if args.workdir else cache_root() / "a2k-train"
    start = time.monotonic()
    model, states, data = train(recipe, av, shared if shared.is_dir() else None, workdir, out.with_name("visemes.json"),
                                threads=args.threads)
    windows = data.pool.batch(64, np.random.default_rng(0), MIX)[0]
    export_checked(model, out, windows)
    predict = torch_predict(model)
    test = real_lips(predict, load([av / f"{n}.mp4" for n in grid_split()["test"]], audio_skip=GRID_AUDIO_SKIP))
    val = real_lips(predict, data.val)["opening_corr"]
    metrics = {"recipe": asdict(recipe), "data": data.counts, "steps": [s.step for s in states],
               "validation_opening_corr": round(val, 4),
               "member_validation_opening_corr": [round(1.0 - s.best, 4) for s in states],
               "minutes": round((time.monotonic() - start) / 60, 1),
               "grid_test": {k: v for k, v in test.items() if k != "per_clip"}}
    out.with_name("metrics.json").write_text(json.dumps(metrics, indent=1) + "\n")
    print(json.dumps(metrics))
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    add_arguments(parser)
    raise SystemExit(run(parser.parse_args()))
