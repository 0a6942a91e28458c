"""``dhsdk train mouth --avatar A [--config lite|full] [--minutes M]`` (light: torch is
imported only inside :func:`run`)."""
from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Register the options."""
    parser.add_argument("--avatar", required=True, help="avatar bundle directory")
    parser.add_argument("--config", choices=["lite", "full"], default="lite")
    parser.add_argument("--minutes", type=float, default=None, help="wall-clock limit")
    parser.add_argument("--steps", type=int, default=4000)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--seed", type=int, default=0)


def run(args: argparse.Namespace) -> int:
    """Train, export into the bundle, record it in manifest.json, print the metrics."""
    import dhsdk
    from dhsdk.train.mouth import TrainOptions, train_for_avatar

    avatar = dhsdk.Avatar.load(args.avatar)
    path, metrics = train_for_avatar(avatar, TrainOptions(config=args.config, minutes=args.minutes,
                                                          steps=args.steps, batch=args.batch, seed=args.seed))
    print(f"wrote {path}: held-out mouth PSNR {metrics['val_psnr']:.2f} dB (copying the reference: "
          f"{metrics['copy_ref_psnr']:.2f} dB), SSIM {metrics['val_ssim']:.3f}, {metrics['steps']} steps")
    return 0
