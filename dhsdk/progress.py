"""Progress bars for long work (avatar creation, training, rendering, engine builds).

One place decides how progress is shown: a tqdm bar on stderr when it is a terminal, and a
line every few seconds otherwise (CI logs), so long jobs never look hung.
"""
from __future__ import annotations

import os
import sys
from typing import Iterable, Iterator, TypeVar

T = TypeVar("T")


def progress(iterable: Iterable[T], total: int | None = None, desc: str = "", unit: str = "it",
             enabled: bool = True) -> Iterator[T]:
    """Iterate ``iterable`` while showing progress on stderr.

    Args:
        total: number of items, when ``iterable`` has no len().
        desc: short label, e.g. ``"tracking"``.
        unit: what one item is, e.g. ``"frame"``.
        enabled: False silences it (library callers that report progress themselves).
    """
    if not enabled or os.environ.get("DHSDK_NO_PROGRESS"):
        yield from iterable
        return
    from tqdm import tqdm

    tty = sys.stderr.isatty()
    yield from tqdm(iterable, total=total, desc=desc, unit=unit, file=sys.stderr,
                    mininterval=0.1 if tty else 5.0, dynamic_ncols=tty, leave=tty)
