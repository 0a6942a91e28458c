"""Train the a2k model on project-generated espeak data and export the shipped ONNX weights.

``python -m dhsdk.train.a2k [--steps N] [--minutes M] [--out dhsdk/assets/a2k/a2k.onnx]``
(also ``dhsdk train a2k``). Data is generated on the fly (cached in memory), checkpoints go to
``--workdir`` (a temp dir by default), never into the repo.

:func:`fit` is the optimisation loop both a2k trainers share: this one, and the per-person
fine-tuning of :mod:`dhsdk.train.a2k_adapt`.
"""
from __future__ import annotations

import argparse
import os
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

import numpy as np

DEFAULT_OUT = Path(__file__).resolve().parents[1] / "assets" / "a2k" / "a2k.onnx"


def add_arguments(p: argparse.ArgumentParser) -> None:
    """CLI flags of ``dhsdk train a2k``."""
    p.add_argument("--steps", type=int, default=20000, help="maximum optimiser steps")
    p.add_argument("--minutes", type=float, default=55.0, help="wall-time bound")
    p.add_argument("--utterances", type=int, default=600, help="generated training utterances")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default=str(DEFAULT_OUT), help="ONNX output path")
    p.add_argument("--workdir", default=None, help="checkpoint directory (temp dir by default)")


def batches(utts, batch: int, rng: np.random.Generator):
    """Endless (mel windows, coefficient targets) batches sampled over utterance frames."""
    from dhsdk.models.a2k_runner import mel_windows

    while True:
        picks = rng.integers(0, len(utts), batch)
        xs, ys = [], []
        for i in picks:
            u = utts[i]
            c = rng.integers(0, len(u.mel), 1)
            xs.append(mel_windows(u.mel, 0, c))
            ys.append(u.target[c])
        yield np.concatenate(xs), np.concatenate(ys)


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


def loss_fn(pred, target):
    """Smooth-L1 (beta 0.05) between (B, K) predicted and target lip-shape coefficients."""
    import torch

    return torch.nn.functional.smooth_l1_loss(pred, target, beta=0.05)


def fit(model, data: Iterator[tuple[np.ndarray, np.ndarray]], schedule: Schedule,
        validate: Callable[[Any], float] | None = None, state: FitState | None = None,
        on_checkpoint: Callable[[Any, FitState], None] | None = None, desc: str = "a2k train"):
    """Train an :class:`~dhsdk.models.a2k.A2KNet` on coefficient targets.

    Args:
        model: the network (trained in place).
        data: endless batches of (B, 80, W) float32 log-mel windows and (B, K) float32 targets.
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
        x, y = next(data)
        loss = loss_fn(model.coeffs(torch.from_numpy(x)), torch.from_numpy(y))
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


def train(steps: int, minutes: float, utterances: int, seed: int, workdir: str | None = None):
    """Train from scratch on generated speech; returns (model, list of per-step losses).

    With ``workdir``, the weights are saved there as ``a2k.pt`` (a state dict, what
    ``tools/export/a2k.py`` reads) every 1000 steps and at the end.
    """
    import torch

    from dhsdk.models.a2k import A2KNet
    from dhsdk.progress import progress
    from dhsdk.train.a2k_data import TRAIN_VOICES, make_utterance

    torch.manual_seed(seed)
    torch.set_num_threads(1)
    utts = [make_utterance(seed * 100003 + i, TRAIN_VOICES) for i in progress(range(utterances), total=utterances,
                                                                                desc="a2k data", unit="utt")]
    save = (lambda model, _state: torch.save(model.state_dict(), os.path.join(workdir, "a2k.pt"))) if workdir else None
    model, state = fit(A2KNet(), batches(utts, 128, np.random.default_rng(seed)), Schedule(steps, minutes),
                       on_checkpoint=save)
    return model, state.losses


def run(args: argparse.Namespace) -> int:
    """Train and export to ``args.out``."""
    from dhsdk.models.a2k import export_onnx

    workdir = args.workdir or tempfile.mkdtemp(prefix="dhsdk-a2k-")
    model, losses = train(args.steps, args.minutes, args.utterances, args.seed, workdir)
    export_onnx(model.eval(), args.out)
    print(f"steps {len(losses)}, final loss {np.mean(losses[-100:]):.4f}, wrote {args.out}")
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    add_arguments(parser)
    raise SystemExit(run(parser.parse_args()))
