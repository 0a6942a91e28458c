"""Benchmarks import the shared timing helper from here (``from timing import measure``);
it lives in the package so the ``dhsdk bench`` harness uses the very same code."""
from dhsdk.bench.timing import emit, interleaved, machine, measure

__all__ = ["emit", "interleaved", "machine", "measure"]
