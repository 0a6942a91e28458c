"""Export the a2k PyTorch model to ONNX (dynamic batch, opset 17) and check it with Polygraphy
against ONNX Runtime.

``PYTHONPATH=. python tools/export/a2k.py --checkpoint a2k.pt --out dhsdk/assets/a2k/a2k.onnx``
"""
from __future__ import annotations

import argparse
import shutil
import subprocess


def main() -> int:
    import torch

    from dhsdk.models.a2k import A2KNet, export_onnx

    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--checkpoint", required=True, help="state dict saved by dhsdk.train.a2k")
    p.add_argument("--out", required=True)
    p.add_argument("--opset", type=int, default=17)
    args = p.parse_args()
    model = A2KNet()
    model.load_state_dict(torch.load(args.checkpoint, map_location="cpu"))
    export_onnx(model, args.out, args.opset)
    polygraphy = shutil.which("polygraphy")
    if polygraphy is None:
        print("polygraphy not found: pip install polygraphy to check the export")
        return 1
    return subprocess.call([polygraphy, "run", args.out, "--onnxrt", "--input-shapes", "mel:[4,80,29]"])


if __name__ == "__main__":
    raise SystemExit(main())
