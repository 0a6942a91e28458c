"""a2k speed: streaming features + a2k for 40 ms of audio (one 25 fps frame), a batch of 9 streams
in one call, ONNX Runtime vs eager torch in the same run. Target: <= 1 ms median on 2 cores.

``python benchmarks/bench_a2k.py [--model path.onnx]``
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path[:0] = [str(Path(__file__).resolve().parent), str(Path(__file__).resolve().parents[1])]
from timing import emit, interleaved  # noqa: E402


def main() -> None:
    import torch

    from dhsdk.models.a2k import WINDOW, from_onnx
    from dhsdk.models.a2k_runner import A2K, DEFAULT_PATH

    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--model", default=None)
    args = p.parse_args()
    torch.set_num_threads(1)
    a2k = A2K.load(args.model)
    pcm = np.random.default_rng(0).normal(0, 0.1, 640).astype(np.float32)
    stream = a2k.stream(25)
    for _ in range(10):
        stream.push(pcm)
    x1 = np.random.default_rng(1).normal(-6, 4, (1, 80, WINDOW)).astype(np.float32)
    x9 = np.repeat(x1, 9, 0)
    net = from_onnx(args.model or DEFAULT_PATH)   # the same network, eager
    t1, t9 = torch.from_numpy(x1), torch.from_numpy(x9)

    def eager(x):
        with torch.inference_mode():
            return net(x)

    res = interleaved({"stream_40ms_ort": lambda: stream.push(pcm), "model_only_ort": lambda: a2k.infer(x1),
                       "model_only_torch": lambda: eager(t1), "batch9_ort": lambda: a2k.infer(x9),
                       "batch9_torch": lambda: eager(t9)}, rounds=5, repeat=40)
    for name, r in res.items():
        emit({"bench": "a2k", "case": name, **r, "target_ms": 1.0 if name == "stream_40ms_ort" else None})


if __name__ == "__main__":
    main()
