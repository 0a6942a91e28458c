"""Performance harness (``dhsdk bench``) and the timing helper shared with ``benchmarks/``."""
