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
    parser.add_argument("--no-int8", dest="int8", action="store_false",
                        help="do not write the int8 model the CPU path uses when it keeps the quality")


def run(args: argparse.Namespace) -> int:
    """Train, export into the bundle, record it in manifest.json, print the metrics."""
    import dhsdk
    from dhsdk.train.mouth import TrainOptions, train_for_avatar

    avatar = dhsdk.Avatar.load(args.avatar)
    path, metrics = train_for_avatar(avatar, TrainOptions(config=args.config, minutes=args.minutes,
                                                          steps=args.steps, batch=args.batch, seed=args.seed,
                                                          int8=args.int8))
    print(f"wrote {path}: held-out mouth PSNR {metrics['val_psnr']:.2f} dB (copying the reference: "
          f"{metrics['copy_ref_psnr']:.2f} dB), SSIM {metrics['val_ssim']:.3f}, {metrics['steps']} steps")
    if "int8_psnr" in metrics:
        kept = dhsdk.Avatar.load(args.avatar).mouth_model_int8
        print(f"int8 model for the CPU: held-out PSNR {metrics['int8_psnr']:.2f} dB against {metrics['fp32_ort_psnr']:.2f} "
              f"for float32; " + (f"wrote {kept}, used on the CPU" if kept else "not kept (float32 is used)"))
    return 0
