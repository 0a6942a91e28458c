"""Train the a2k model on project-generated espeak data and export the shipped ONNX weights.

``python -m dhsdk.train.a2k [--steps N] [--minutes M] [--out dhsdk/assets/a2k/a2k.onnx]``
(also ``dhsdk train a2k``). Data is generated on the fly (cached in memory), checkpoints go to
``--workdir`` (a temp dir by default), never into the repo.
"""
from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

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
    while True:
        picks = rng.integers(0, len(utts), batch)
        xs, ys = [], []
        from dhsdk.models.a2k_runner import mel_windows

        for i in picks:
            u = utts[i]
            c = rng.integers(0, len(u.mel), 1)
            xs.append(mel_windows(u.mel, 0, c))
            ys.append(u.target[c])
        yield np.concatenate(xs), np.concatenate(ys)


def train(steps: int, minutes: float, utterances: int, seed: int, workdir: str | None = None,
          log_every: int = 100):
    """Train; returns (model, list of per-step losses)."""
    import torch

    from dhsdk.models.a2k import A2KNet
    from dhsdk.progress import progress
    from dhsdk.train.a2k_data import TRAIN_VOICES, make_utterance

    torch.manual_seed(seed)
    torch.set_num_threads(1)
    utts = [make_utterance(seed * 100003 + i, TRAIN_VOICES) for i in progress(range(utterances), total=utterances,
                                                                                desc="a2k data", unit="utt")]
    model = A2KNet()
    opt = torch.optim.AdamW(model.parameters(), lr=2e-3, weight_decay=1e-4)
    rng = np.random.default_rng(seed)
    gen = batches(utts, 128, rng)
    losses, start = [], time.monotonic()
    for step in progress(range(steps), total=steps, desc="a2k train", unit="step"):
        # Cosine decay over whichever bound (steps or wall time) is nearer, with a short warm-up.
        done = min(1.0, max(step / steps, (time.monotonic() - start) / (minutes * 60)))
        for group in opt.param_groups:
            group["lr"] = 2e-3 * min(1.0, (step + 1) / 100) * 0.5 * (1 + np.cos(np.pi * done))
        x, y = next(gen)
        pred = model.coeffs(torch.from_numpy(x))
        loss = torch.nn.functional.smooth_l1_loss(pred, torch.from_numpy(y), beta=0.05)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
        if workdir and (step + 1) % 1000 == 0:
            torch.save(model.state_dict(), os.path.join(workdir, "a2k.pt"))
        if time.monotonic() - start > minutes * 60:
            break
    return model, losses


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
