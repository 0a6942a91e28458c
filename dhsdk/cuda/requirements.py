"""What the GPU path needs and which of it is missing here, each with the command that fixes it.

Used by ``dhsdk engines build`` and ``dhsdk doctor --gpu`` so a user sees every missing
piece at once (CUDA launchers, driver, device, CuPy, TensorRT, Polygraphy, DALI,
PyNvVideoCodec) rather
than one ImportError at a time.
"""
from __future__ import annotations

import importlib
from typing import Sequence

# piece -> (module to import, install command)
_PACKAGES = {
    "cupy": ("cupy", "pip install 'dhsdk[gpu]'  (CuPy for CUDA 13: cupy-cuda13x)"),
    "tensorrt": ("tensorrt", "pip install --extra-index-url https://pypi.nvidia.com 'tensorrt>=10'  (10 or 11)"),
    "torch": ("torch", "pip install torch  (a CUDA build: runs the UNet mouth where TensorRT is absent)"),
    "polygraphy": ("polygraphy", "pip install polygraphy"),
    "dali": ("nvidia.dali", "pip install 'dhsdk[gpu]'  (nvidia-dali-cuda130)"),
    "pynvvideocodec": ("PyNvVideoCodec", "pip install 'dhsdk[gpu]'  (NVENC encoding: pynvvideocodec)"),
}
PIECES = ("cuda", *_PACKAGES)


def missing_gpu_pieces(need: Sequence[str] = PIECES) -> list[str]:
    """One line per missing piece among ``need`` ("cuda" and the keys of the package table).

    Returns:
        e.g. ``["TensorRT (tensorrt): not installed: pip install --extra-index-url ..."]``;
        empty when everything asked for is usable.
    """
    from dhsdk.device import cuda_problem

    lines = []
    for piece in need:
        if piece == "cuda":
            try:
                problem = cuda_problem()
            except ImportError as e:
                problem = f"the native extension dhsdk._C is not importable ({e}): pip install ."
            if problem:
                lines.append(f"CUDA: {problem}")
            continue
        module, fix = _PACKAGES[piece]
        try:
            importlib.import_module(module)
        except Exception as e:  # noqa: BLE001 - a broken install is as missing as an absent one
            lines.append(f"{piece} ({module}): not importable ({type(e).__name__}): {fix}")
    return lines
