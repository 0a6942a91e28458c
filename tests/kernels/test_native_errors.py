"""Every dhsdk._C function's error path raises a clear ValueError (or TypeError) and never
crashes: driven in a subprocess (tests/kernels/native_errors_driver.py) against the in-tree build
and against a build that links libstdc++ statically (what the lent GPU machine's g++ 13.3 made,
where any error killed the process), with torch imported first so a shared libstdc++ sits in the
process's global symbol scope. With the old iostream messages, Debian's g++ 12 build printed
"got shape (" and nothing after it here, and g++ 13.3's crashed; the messages are asserted whole.

Also: ``dhsdk doctor`` reads how _C.so links libstdc++ from its ELF dynamic section."""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import native_errors_driver as driver
from dhsdk.doctor import libstdcxx_linkage, needed_libraries

REPO = Path(__file__).resolve().parents[2]
DRIVER = Path(driver.__file__)


def _drive(target: str) -> tuple[list[str], list[dict]]:
    """Run the driver on ``target``; (functions the module has, one record per case)."""
    env = dict(os.environ, PYTHONPATH=str(REPO))
    proc = subprocess.run([sys.executable, str(DRIVER), target], capture_output=True, text=True, env=env,
                          timeout=300)
    assert proc.returncode == 0, f"driver died with status {proc.returncode}:\n{proc.stdout[-2000:]}\n{proc.stderr[-3000:]}"
    lines = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    return lines[0]["functions"], lines[1:]


def _check(functions: list[str], records: list[dict]) -> None:
    covered = {name.removeprefix("emulated.") for name in functions}
    assert covered <= set(driver.CASES), f"functions without an error-path case: {covered - set(driver.CASES)}"
    by_call = {(r["function"], r["case"]): r for r in records}
    expected = 0
    for function in functions:
        for case, _, raised, pattern in driver.CASES[function.removeprefix("emulated.")]:
            expected += 1
            got = by_call[(function, case)]
            assert got["raised"] == raised, got
            assert re.search(pattern, got["message"]), f"{function} {case}: {got['message']!r} !~ {pattern!r}"
    assert len(records) == expected


def test_every_binding_raises_a_clear_error():
    _check(*_drive("dhsdk"))


@pytest.mark.slow
def test_static_libstdcxx_build_survives_every_error_path(tmp_path):
    """Build _C with -static-libstdc++ (CPU only, ~1 min on 2 cores) and drive every error path."""
    pybind11 = pytest.importorskip("pybind11")
    if not shutil.which("cmake") or not (shutil.which("c++") or shutil.which("g++")):
        pytest.skip("needs cmake and a C++ compiler")
    out = tmp_path / "out"
    args = ["cmake", "-S", str(REPO), "-B", str(tmp_path / "build"), "-DCMAKE_BUILD_TYPE=Release",
            f"-DPython_EXECUTABLE={sys.executable}", f"-Dpybind11_DIR={pybind11.get_cmake_dir()}",
            f"-DCMAKE_LIBRARY_OUTPUT_DIRECTORY={out}", "-DDHSDK_WITH_CUDA=OFF", "-DDHSDK_STATIC_LIBSTDCXX=ON"]
    if shutil.which("ninja"):
        args.append("-GNinja")
    for cmd in (args, ["cmake", "--build", str(tmp_path / "build"), "-j", str(os.cpu_count() or 2)]):
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=900)
        assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    (so,) = out.glob("_C*.so")
    assert not any(lib.startswith("libstdc++") for lib in needed_libraries(so))
    assert libstdcxx_linkage(so).startswith("static")
    functions, records = _drive(str(so))
    assert not any(f.startswith("cuda_") and f != "cuda_query" for f in functions)  # a CPU-only build
    _check(functions, records)


def test_linkage_is_read_from_the_dynamic_section():
    from dhsdk import _C

    libs = needed_libraries(_C.__file__)
    assert "libc.so.6" in libs
    linkage = libstdcxx_linkage(_C.__file__)
    assert linkage == ("shared (libstdc++.so.6)" if "libstdc++.so.6" in libs else
                       "static (linked into _C.so)")
    with pytest.raises(ValueError, match="not an ELF"):
        needed_libraries(__file__)
