"""Export an inpainting-UNet checkpoint to ONNX with a dynamic batch axis.

Usage: python tools/export/inpaint.py CKPT OUT.onnx [--config lite|full]
"""
from __future__ import annotations

import argparse
import sys


def main(argv: list[str] | None = None) -> int:
    """CLI entry: load, export, check against ONNX Runtime."""
    from dhsdk.models.inpaint import export_onnx, load_checkpoint

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("checkpoint")
    ap.add_argument("out")
    ap.add_argument("--config", choices=["lite", "full"])
    args = ap.parse_args(argv)
    model, _ = load_checkpoint(args.checkpoint, args.config)
    err = export_onnx(model, args.out)
    print(f"wrote {args.out} (max |ORT - torch| = {err:.2e})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
