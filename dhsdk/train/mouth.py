"""Per-person training of the inpainting UNet (``dhsdk train mouth --avatar A``).

Data: the avatar's own frames (see :mod:`dhsdk.train.mouth_data`); the last ``val_frac`` of
the clip is held out (contiguous, so validation frames are not neighbours of training ones).
Losses, all restricted to the lower-face mask: L1, 1 - SSIM (11x11 box window), and L1 of the
image gradients (keeps lip edges and teeth sharp). No pretrained perceptual networks.
Checkpoints every ``val_every`` steps (model + optimiser + step, resumable), validation
PSNR/SSIM on held-out frames, early stop after ``patience`` validations without PSNR gain.

Budgets: full model <= 4 h on one consumer GPU for 3-5 minutes of footage (about 60k steps
of batch 16 at 256 px); lite model on 2 CPU cores usefully on a 30 s clip in <= 30 min
(``--minutes 30``, batch 8 at 128 px, about 3-4k steps).
"""
from __future__ import annotations

import dataclasses
import os
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from dhsdk.models.inpaint import CONFIGS, IN_NAMES, OUT_NAME, InpaintUNet, load_checkpoint, save_checkpoint
from dhsdk.train.mouth_data import make_batch, pick_references


@dataclasses.dataclass
class TrainOptions:
    """Knobs of :func:`train`.

    Attributes:
        config: "lite" or "full".
        steps: maximum optimiser steps.
        minutes: wall-clock limit (None = none).
        batch: frames per step.
        lr: Adam learning rate.
        val_frac: fraction of the clip (its end) held out for validation.
        val_every: steps between validation + checkpoint.
        patience: validations without PSNR improvement before stopping.
        ref_gap: minimum frame distance between a sample and its reference.
        seed: RNG seed.
        int8: also write an int8 model for the CPU (:func:`add_int8`), used where it keeps the
            quality.
    """

    config: str = "lite"
    steps: int = 4000
    minutes: float | None = None
    batch: int = 8
    lr: float = 2e-3
    val_frac: float = 0.15
    val_every: int = 100
    patience: int = 5
    ref_gap: int = 10
    seed: int = 0
    int8: bool = True


def _ssim_map(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    mu_a, mu_b = F.avg_pool2d(a, 11, 1, 5), F.avg_pool2d(b, 11, 1, 5)
    va = F.avg_pool2d(a * a, 11, 1, 5) - mu_a ** 2
    vb = F.avg_pool2d(b * b, 11, 1, 5) - mu_b ** 2
    cov = F.avg_pool2d(a * b, 11, 1, 5) - mu_a * mu_b
    c1, c2 = 0.01 ** 2, 0.03 ** 2
    return ((2 * mu_a * mu_b + c1) * (2 * cov + c2)) / ((mu_a ** 2 + mu_b ** 2 + c1) * (va + vb + c2))


def _masked_mean(x: torch.Tensor, m: torch.Tensor) -> torch.Tensor:
    return (x * m).sum() / (m.sum() * x.shape[1] / m.shape[1]).clamp_min(1.0)


def loss_fn(pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Masked L1 + (1 - SSIM) + gradient L1. pred/target (B, 3, S, S), mask (B, 1, S, S)."""
    l1 = _masked_mean((pred - target).abs(), mask)
    ssim = _masked_mean(1.0 - _ssim_map(pred, target), mask)
    gx = lambda t: t[..., :, 1:] - t[..., :, :-1]  # noqa: E731
    gy = lambda t: t[..., 1:, :] - t[..., :-1, :]  # noqa: E731
    grad = (_masked_mean((gx(pred) - gx(target)).abs(), mask[..., :, 1:])
            + _masked_mean((gy(pred) - gy(target)).abs(), mask[..., 1:, :]))
    return l1 + 0.5 * ssim + 0.5 * grad


def masked_metrics(pred: np.ndarray, target: np.ndarray, mask: np.ndarray) -> tuple[float, float]:
    """(PSNR dB, SSIM) over pixels where ``mask`` > 0.5; arrays (B, 3, S, S) in [0, 1], mask (S, S)."""
    sel = mask > 0.5
    mse = float(((pred - target) ** 2)[:, :, sel].mean())
    ssim = _ssim_map(torch.from_numpy(pred), torch.from_numpy(target)).numpy()[:, :, sel].mean()
    return 10.0 * np.log10(1.0 / max(mse, 1e-10)), float(ssim)


def _split(n: int, val_frac: float) -> tuple[int, int]:
    """(training frames, held-out frames at the end) of an ``n``-frame clip."""
    n_val = max(1, int(round(n * val_frac)))
    return n - n_val, n_val


def _val_refs(n_train: int, n_val: int) -> np.ndarray:
    return np.full(n_val, n_train // 2)


INT8_MAX_DROP_DB = 0.5   # held-out PSNR the int8 model may lose against float32 and still be used
INT8_CALIBRATION = 32    # training frames whose activations set the int8 ranges


def add_int8(onnx_path: Path, crops: np.ndarray, lips: np.ndarray, mask: np.ndarray, opts: TrainOptions
             ) -> tuple[Path | None, dict]:
    """Quantise the exported model to int8 for the CPU (:mod:`dhsdk.runtime.int8`), calibrated on
    training frames, and keep it only if its held-out PSNR is within :data:`INT8_MAX_DROP_DB` of
    the float32 model's (both run with ONNX Runtime on the held-out frames of :func:`train`).

    Returns:
        (``<stem>.int8.onnx`` beside ``onnx_path``, or None when it was not kept; metrics
        ``fp32_ort_psnr``, ``int8_psnr``).
    """
    from dhsdk.runtime.int8 import quantize
    from dhsdk.runtime.ort import OnnxrtRunner

    n_train, n_val = _split(len(crops), opts.val_frac)
    rng = np.random.default_rng(opts.seed)
    idx = rng.choice(n_train, min(INT8_CALIBRATION, n_train), replace=False)
    refs = pick_references(n_train, rng, opts.ref_gap)[idx]
    parts = np.array_split(np.arange(len(idx)), max(1, len(idx) // 4))   # batches of about 4 frames
    calibration = [dict(zip(IN_NAMES, make_batch(crops, lips, mask, idx[part], refs[part])[:3])) for part in parts]
    out = onnx_path.with_suffix(".int8.onnx")
    quantize(onnx_path, out, calibration)
    *inputs, target = make_batch(crops, lips, mask, np.arange(n_train, n_train + n_val), _val_refs(n_train, n_val))
    feeds = dict(zip(IN_NAMES, inputs))
    scores = {}
    for name, path in (("fp32_ort_psnr", onnx_path), ("int8_psnr", out)):
        with OnnxrtRunner(str(path), name=name) as runner:
            scores[name] = masked_metrics(runner.infer(feeds)[OUT_NAME], target, mask)[0]
    if scores["int8_psnr"] < scores["fp32_ort_psnr"] - INT8_MAX_DROP_DB:
        out.unlink()
        return None, scores
    return out, scores


def train(crops: np.ndarray, lips: np.ndarray, mask: np.ndarray, opts: TrainOptions,
          ckpt_path: str | os.PathLike | None = None, progress_desc: str = "train mouth") -> tuple[InpaintUNet, dict]:
    """Train (or resume) the UNet on one clip.

    Args:
        crops: (N, S, S, 3) uint8 crops at the configuration's size.
        lips: (N, 40, 2) float32 lip keypoints in crop px.
        mask: (S, S) float32 lower-face mask.
        opts: :class:`TrainOptions`.
        ckpt_path: checkpoint file; resumed from when it exists, rewritten at each validation.

    Returns:
        (the best model by validation PSNR, in eval mode; metrics dict with ``val_psnr``,
        ``val_ssim``, ``copy_ref_psnr`` (baseline: paste the reference), ``steps``).
    """
    from dhsdk.errors import InputError
    from dhsdk.progress import progress

    cfg = CONFIGS[opts.config]
    if crops.shape[1:] != (cfg.size, cfg.size, 3):
        raise InputError(f"crops are {crops.shape[1:]}, the '{opts.config}' model needs "
                         f"({cfg.size}, {cfg.size}, 3)")
    n = len(crops)
    n_train, n_val = _split(n, opts.val_frac)
    if n_train < 2:
        raise InputError(f"clip has {n} frames; need at least {n_val + 2} to train and validate")
    torch.manual_seed(opts.seed)
    rng = np.random.default_rng(opts.seed)
    model = InpaintUNet(cfg)
    optim = torch.optim.Adam(model.parameters(), lr=opts.lr)
    step, best, stale, best_state = 0, -np.inf, 0, None
    if ckpt_path is not None and Path(ckpt_path).exists():
        model, ckpt = load_checkpoint(ckpt_path, opts.config)
        optim = torch.optim.Adam(model.parameters(), lr=opts.lr)
        optim.load_state_dict(ckpt["optim"])
        step, best, stale = ckpt["step"], ckpt["best_psnr"], ckpt["stale"]
        best_state = ckpt.get("best_state")
    val_idx = np.arange(n_train, n)
    vm, vr, vc, vt = make_batch(crops, lips, mask, val_idx, _val_refs(n_train, n_val))
    copy_psnr, _ = masked_metrics(vr, vt, mask)
    mask_t = torch.from_numpy(mask)[None, None]
    deadline = time.monotonic() + opts.minutes * 60 if opts.minutes else None
    metrics = {"copy_ref_psnr": copy_psnr, "val_psnr": best, "val_ssim": float("nan")}
    for step in progress(range(step, opts.steps), total=opts.steps - step, desc=progress_desc, unit="step"):
        model.train()
        idx = rng.integers(0, n_train, opts.batch)
        refs = pick_references(n_train, rng, opts.ref_gap)[idx]
        m, r, c, t = (torch.from_numpy(a) for a in make_batch(crops, lips, mask, idx, refs))
        loss = loss_fn(model(m, r, c), t, mask_t.expand(len(idx), -1, -1, -1))
        optim.zero_grad()
        loss.backward()
        optim.step()
        last = step + 1 == opts.steps or (deadline is not None and time.monotonic() > deadline)
        if (step + 1) % opts.val_every and not last:
            continue
        model.eval()
        with torch.no_grad():
            pred = model(*(torch.from_numpy(a) for a in (vm, vr, vc))).numpy()
        psnr, ssim = masked_metrics(pred, vt, mask)
        if psnr > best:
            best, stale = psnr, 0
            best_state = {k: v.clone() for k, v in model.state_dict().items()}
            metrics.update(val_psnr=psnr, val_ssim=ssim)
        else:
            stale += 1
        if ckpt_path is not None:
            save_checkpoint(ckpt_path, model, optim=optim.state_dict(), step=step + 1, best_psnr=best,
                            stale=stale, best_state=best_state)
        if last or stale >= opts.patience:
            break
    if best_state is not None:
        model.load_state_dict(best_state)
    metrics["steps"] = step + 1
    return model.eval(), metrics


def train_for_avatar(avatar, opts: TrainOptions) -> tuple[Path, dict]:
    """Train on the avatar's own frames, export ``mouth_<config>.onnx`` into the bundle and
    record it as ``"mouth_model"`` in its ``manifest.json`` (the pipeline picks it up there),
    with its int8 twin for the CPU as ``"mouth_model_int8"`` when one was kept (:func:`add_int8`).

    Args:
        avatar: an avatar (uses ``path``, ``manifest``, ``num_frames``, ``frame``, ``lips``,
            ``crop_affine``, ``mouth_mask``).
        opts: :class:`TrainOptions`.

    Returns:
        (path of the written ONNX, metrics of :func:`train`).
    """
    from dhsdk.avatar.bundle import update_manifest
    from dhsdk.models.inpaint import export_onnx
    from dhsdk.train.mouth_data import clip_from_avatar

    bundle = Path(avatar.path)
    crops, lips, mask = clip_from_avatar(avatar, CONFIGS[opts.config].size)
    model, metrics = train(crops, lips, mask, opts, ckpt_path=bundle / f"mouth_{opts.config}.ckpt")
    onnx_path = bundle / f"mouth_{opts.config}.onnx"
    export_onnx(model, onnx_path)
    int8 = None
    if opts.int8:
        int8, scores = add_int8(onnx_path, crops, lips, mask, opts)
        metrics.update(scores)
    update_manifest(bundle, mouth_model=onnx_path.name, mouth_model_int8=int8.name if int8 else None,
                    mouth_metrics={k: float(v) for k, v in metrics.items()})
    return onnx_path, metrics
