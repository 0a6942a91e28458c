"""Build driver: compiles ``csrc/`` with CMake into the extension module ``dhsdk._C``.

All build switches live in CMakeLists.txt (``DHSDK_WITH_CUDA``, ``DHSDK_CUDA_ARCHS``,
``DHSDK_CPU_ARCH``). This file only runs CMake; extra cache entries are passed through
the conventional ``CMAKE_ARGS`` environment variable, e.g.
``CMAKE_ARGS="-DDHSDK_WITH_CUDA=OFF" pip install .``.
"""
import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

ROOT = Path(__file__).resolve().parent


class CMakeExtension(Extension):
    """An extension whose sources are built by the CMake project at ``sourcedir``."""

    def __init__(self, name: str, sourcedir: Path):
        super().__init__(name, sources=[])
        self.sourcedir = str(sourcedir)


class CMakeBuild(build_ext):
    """Configure once per build directory, then build incrementally."""

    def build_extension(self, ext: CMakeExtension) -> None:
        import pybind11

        out_dir = Path(self.get_ext_fullpath(ext.name)).parent.resolve()
        build_dir = Path(os.environ.get("DHSDK_BUILD_DIR", ROOT / "build" / "cmake"))
        build_dir.mkdir(parents=True, exist_ok=True)
        config = "Debug" if self.debug else "Release"
        args = [
            f"-DCMAKE_BUILD_TYPE={config}",
            f"-DCMAKE_LIBRARY_OUTPUT_DIRECTORY={out_dir}",
            f"-DPython_EXECUTABLE={sys.executable}",
            f"-Dpybind11_DIR={pybind11.get_cmake_dir()}",
        ]
        if shutil.which("ninja") and not (build_dir / "CMakeCache.txt").exists():
            args.append("-GNinja")
        args += shlex.split(os.environ.get("CMAKE_ARGS", ""))
        subprocess.run(["cmake", "-S", ext.sourcedir, "-B", str(build_dir), *args], check=True)
        jobs = str(os.cpu_count() or 2)
        subprocess.run(["cmake", "--build", str(build_dir), "--config", config, "-j", jobs], check=True)


setup(ext_modules=[CMakeExtension("dhsdk._C", ROOT)], cmdclass={"build_ext": CMakeBuild})
