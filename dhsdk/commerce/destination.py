"""Where a viewer wants a product shipped, and whether the catalogue says it goes there.

"Does it ship to Canada?" is not "when does it ship?": the answer must come from what the
merchant wrote about destinations (a product's ``ships_to`` list, or a place named in its
``shipping`` text), and when the catalogue says nothing about that place the host says it
does not know, never a generic shipping line.
"""
from __future__ import annotations

import re

from dhsdk.commerce.catalog import Product

# "ship/deliver/send ... to (the) PLACE", "ship internationally"; Chinese "寄/发/送/运/邮 到 PLACE".
_EN_TO = re.compile(r"\b(?:ship|deliver|send|post|mail)\w*\b(?:\s+\w+){0,3}?\s+to\s+"
                    r"((?:the\s+)?[a-z][a-z .'\-]*?)\s*(?:[?!.,;]|\bplease\b|$)", re.IGNORECASE)
_EN_ABROAD = re.compile(r"\b(internationally|overseas|abroad|worldwide|outside (?:the )?[a-z][a-z .'\-]*?)\s*(?:[?!.,;]|$)",
                        re.IGNORECASE)
_ZH_TO = re.compile(r"(?:寄|发|送|运|邮)(?:货|件)?到([\u4e00-\u9fff]+?)(?:吗|么|嘛|呢|去|？|\?|，|,|$)")
_ZH_ABROAD = re.compile(r"(国外|海外|国际)")
_ANYWHERE = {"worldwide", "anywhere", "everywhere", "international", "全球", "全世界"}
_ABROAD = {"internationally", "overseas", "abroad", "worldwide", "国外", "海外", "国际"}
# Different names of one place (lower case); a question and a catalogue may use either.
_SAME = [{"us", "usa", "u.s.", "u.s.a.", "united states", "united states of america", "america", "美国"},
         {"uk", "u.k.", "united kingdom", "britain", "great britain", "england", "英国"},
         {"canada", "加拿大"}, {"china", "mainland china", "中国", "中国大陆", "大陆"},
         {"hong kong", "hk", "香港"}, {"australia", "澳大利亚", "澳洲"}, {"japan", "日本"}]
_STOP = {"me", "you", "us here", "my house", "my home", "my address", "my door", "your store"}


def destination(question: str) -> str | None:
    """The place a shipping question asks about (``"Canada"``, ``"the UK"``, ``"加拿大"``, ``"abroad"``), or None.

    >>> destination("Does it ship to Canada?")
    'Canada'
    >>> destination("能寄到加拿大吗")
    '加拿大'
    """
    for pattern in (_EN_TO, _ZH_TO):
        m = pattern.search(question)
        if m and m.group(1).strip().lower().removeprefix("the ") not in _STOP:
            return m.group(1).strip()
    m = _EN_ABROAD.search(question) or _ZH_ABROAD.search(question)
    if m:
        return "abroad" if m.group(1).lower() in _ABROAD else m.group(1).strip()
    return None


def _names(place: str) -> set[str]:
    key = place.strip().lower().removeprefix("the ")
    for group in _SAME:
        if key in group:
            return group
    return {key}


def ships_to(product: Product, place: str) -> bool | None:
    """Whether the catalogue says ``product`` ships to ``place``: True, False (its ``ships_to``
    list leaves the place out), or None (the catalogue does not say)."""
    names = _names(place)
    listed = {n for p in product.ships_to for n in _names(p)}
    if listed:
        if listed & _ANYWHERE:
            return True
        if place.lower() == "abroad" or place in _ABROAD:
            return None    # a list of countries does not tell which one is "abroad" for this viewer
        return bool(listed & names)
    text = (product.shipping or "").lower()
    if any(word in text for word in _ANYWHERE):
        return True
    if any(re.search(rf"(?<![a-z]){re.escape(n)}(?![a-z])", text) for n in names):
        return True
    return None
