"""Benchmarks import the shared timing helper from here (``from timing import measure``);
it lives in the package so the ``dhsdk bench`` harness uses the very same code. The
repository root is put on ``sys.path`` so the scripts also run from a source checkout."""
import sys
from pathlib import Path

if str(Path(__file__).resolve().parents[1]) not in sys.path:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from dhsdk.bench.timing import emit, interleaved, machine, measure  # noqa: E402

__all__ = ["emit", "interleaved", "machine", "measure"]
