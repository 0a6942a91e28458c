"""``dhsdk doctor``: what is installed, what works, and the one command for each missing piece.

Exit status 0 when the CPU path is complete (native extension, ONNX Runtime, PyAV, face
tracking, TTS); GPU pieces are reported but optional.
"""
from __future__ import annotations

import argparse
import importlib
import platform
import struct
import sys
from dataclasses import dataclass
from pathlib import Path


@dataclass
class Check:
    """One line of the report."""

    name: str
    ok: bool
    detail: str
    fix: str = ""
    required: bool = True


_SHT_DYNAMIC, _DT_NEEDED = 6, 1


def needed_libraries(path: str | Path) -> list[str]:
    """The shared libraries an ELF file asks the loader for (its ``DT_NEEDED`` entries), read
    from the file's dynamic section (64-bit little-endian ELF: Linux on x86-64 and arm64).

    Raises:
        ValueError: not a 64-bit little-endian ELF file, or one without a dynamic section.
    """
    data = Path(path).read_bytes()
    if data[:4] != b"\x7fELF" or data[4] != 2 or data[5] != 1:
        raise ValueError(f"{path} is not an ELF file of 64-bit little-endian code")
    shoff, = struct.unpack_from("<Q", data, 0x28)
    shentsize, shnum = struct.unpack_from("<HH", data, 0x3A)
    sections = [struct.unpack_from("<IIQQQQIIQQ", data, shoff + i * shentsize) for i in range(shnum)]
    for _, kind, _, _, offset, size, link, _, _, _ in sections:
        if kind != _SHT_DYNAMIC:
            continue
        strtab = sections[link][4]
        names = []
        for pos in range(offset, offset + size, 16):
            tag, value = struct.unpack_from("<qQ", data, pos)
            if tag == _DT_NEEDED:
                names.append(data[strtab + value:data.index(b"\0", strtab + value)].decode())
        return names
    raise ValueError(f"{path} has no dynamic section (a static executable?)")


def libstdcxx_linkage(path: str | Path) -> str:
    """How an extension links the C++ runtime: ``"shared (libstdc++.so.6)"`` or ``"static (linked
    into _C.so)"`` (the toolchain put libstdc++ inside it; dhsdk's error paths format without
    iostreams and keep its symbols local, so both work)."""
    shared = [lib for lib in needed_libraries(path) if lib.startswith(("libstdc++", "libc++"))]
    return f"shared ({', '.join(shared)})" if shared else "static (linked into _C.so)"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.add_argument("--gpu", action="store_true",
                   help="also run the GPU self-test: every CUDA kernel and engine against the CPU reference")


def _module_check(name: str, module: str, fix: str, required: bool = True) -> Check:
    try:
        mod = importlib.import_module(module)
    except Exception as e:  # noqa: BLE001 - any import failure is the thing reported
        return Check(name, False, f"not importable ({type(e).__name__}: {e})".splitlines()[0], fix, required)
    return Check(name, True, str(getattr(mod, "__version__", "installed")), "", required)


def collect() -> list[Check]:
    """Run every check; never raises."""
    checks = [Check("python", True, f"{platform.python_version()} on {platform.machine()}")]
    try:
        from dhsdk import _C

        info = dict(_C.build_info())
        try:
            linkage = f", libstdc++ {libstdcxx_linkage(_C.__file__)}"
        except (OSError, ValueError) as e:
            linkage = f", libstdc++ linkage unknown ({e})"
        checks.append(Check("native extension", True,
                            f"{info['compiler']}, SIMD {info['simd']}, {info.get('threads', 1)} threads"
                            f"{linkage}"))
        checks.append(Check("CUDA launchers", bool(info["cuda"]),
                            f"compiled for sm_{info['cuda_archs']} (nvcc {info['cuda_compiler_version']})"
                            if info["cuda"] else "not compiled",
                            "install the CUDA toolkit, then: pip install --force-reinstall --no-deps .",
                            required=False))
    except ImportError as e:
        checks.append(Check("native extension", False, f"dhsdk._C not importable: {e}",
                            "pip install -e . (needs a C++ compiler and CMake)"))
    from dhsdk.device import cuda_problem

    try:
        problem = cuda_problem()
    except ImportError:
        problem = "the native extension is missing"
    checks.append(Check("GPU", problem is None, problem or "usable", "see the GPU section of README.md",
                        required=False))
    checks.append(_module_check("ONNX Runtime", "onnxruntime", "pip install onnxruntime"))
    try:
        import onnxruntime as ort

        checks.append(Check("ORT providers", True, ", ".join(ort.get_available_providers())))
    except ImportError:
        pass
    checks.append(_module_check("PyAV (FFmpeg)", "av", "pip install av"))
    checks.append(_module_check("OpenCV", "cv2", "pip install opencv-python-headless"))
    checks.append(_module_check("face mesh (mediapipe)", "mediapipe", "pip install 'mediapipe==0.10.14' 'protobuf<5'"))
    checks.append(_module_check("espeak-ng TTS", "espeakng_loader", "pip install espeakng-loader"))
    checks.append(_module_check("PyTorch (training)", "torch",
                                "pip install torch==2.13.0 && pip install 'dhsdk[train]'", required=False))
    checks.append(_module_check("CuPy", "cupy", "pip install 'dhsdk[gpu]'", required=False))
    checks.append(_module_check("TensorRT", "tensorrt",
                                "pip install --extra-index-url https://pypi.nvidia.com tensorrt", required=False))
    checks.append(_module_check("DALI", "nvidia.dali", "pip install 'dhsdk[gpu]'", required=False))
    return checks


def run(args: argparse.Namespace) -> int:
    checks = collect()
    if args.json:
        import json

        print(json.dumps([c.__dict__ for c in checks], indent=2))
    else:
        width = max(len(c.name) for c in checks)
        for c in checks:
            mark = "ok " if c.ok else ("!! " if c.required else "-- ")
            line = f"{mark} {c.name:<{width}}  {c.detail}"
            if not c.ok and c.fix:
                line += f"\n    {'':<{width}}  fix: {c.fix}"
            print(line)
    missing = [c.name for c in checks if c.required and not c.ok]
    if args.gpu:
        from dhsdk.gpu_selftest import run_selftest

        print()
        if run_selftest():
            return 1
    if missing:
        print(f"\nCPU path incomplete: {', '.join(missing)}", file=sys.stderr)
        return 1
    print("\nCPU path complete." + ("" if any(c.name == "GPU" and c.ok for c in checks) else
                                    " GPU path: not available here (optional)."))
    return 0
