"""Fonts of the PNG sheets (review and contact sheets): Chinese, Japanese and Korean text renders.

matplotlib's default font (DejaVu Sans) has no CJK glyphs, so a product name, a file name or a
line of Mandarin speech drew as empty boxes. :func:`sheet_fonts` returns a family list for
``font.family``: DejaVu Sans first, then the CJK fonts installed on the system (Debian's
``fonts-wqy-microhei`` or ``fonts-noto-cjk``, installed by ``scripts/install-system-deps.sh``),
which matplotlib uses glyph by glyph where the first has none; :func:`use_sheet_fonts` gives it
to every text of a figure.
"""
from __future__ import annotations

import functools
import logging
import re
from typing import Any

log = logging.getLogger(__name__)
CJK_FILE = re.compile(r"(wqy|cjk|droidsansfallback|sourcehan|notosans(sc|tc|jp|kr)|uming|ukai)", re.IGNORECASE)


@functools.lru_cache(maxsize=1)
def sheet_fonts() -> tuple[str, ...]:
    """``("DejaVu Sans", <CJK families found>...)`` for ``matplotlib.rc_context({"font.family": ...})``.

    The CJK font files are registered with matplotlib's font manager on the first call (its
    cache may predate their installation).
    """
    from matplotlib import font_manager

    families = ["DejaVu Sans"]
    for path in sorted(font_manager.findSystemFonts()):
        if not CJK_FILE.search(path):
            continue
        try:
            font_manager.fontManager.addfont(path)
            name = font_manager.FontProperties(fname=path).get_name()
        except (OSError, RuntimeError, ValueError) as e:   # an unreadable font file: skip it
            log.debug("skipping font %s: %s", path, e)
            continue
        if name not in families:
            families.append(name)
    if len(families) == 1:
        log.info("no CJK font found: Chinese text in sheets will show as boxes "
                 "(install fonts-wqy-microhei: bash scripts/install-system-deps.sh)")
    return tuple(families)


def use_sheet_fonts(fig: Any) -> None:
    """Give every text of the matplotlib figure ``fig`` the families of :func:`sheet_fonts`
    (call it once the texts exist, before layout and saving)."""
    from matplotlib.text import Text

    families = list(sheet_fonts())
    for text in fig.findobj(Text):
        text.set_fontfamily(families)
