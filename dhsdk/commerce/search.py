"""BM25 retrieval over short texts (products, FAQ questions), for English and Chinese.

Latin text is split into lower-cased words; CJK text into single characters and character
bigrams, so "多少钱" matches "价格多少钱" without a segmenter.
"""
from __future__ import annotations

import math
import re
from collections import Counter

_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?|[\u4e00-\u9fff]+")
_STOP = {"the", "a", "an", "is", "it", "are", "do", "does", "you", "this", "that", "of", "to", "in", "for",
         "and", "or", "i", "me", "my", "what", "how", "can", "with", "on", "be", "have", "has"}


def tokenize(text: str) -> list[str]:
    """Words (Latin, minus stop words) and CJK characters + bigrams."""
    out: list[str] = []
    for tok in _WORD.findall(text.lower()):
        if "\u4e00" <= tok[0] <= "\u9fff":
            out.extend(tok)
            out.extend(tok[i:i + 2] for i in range(len(tok) - 1))
        elif tok not in _STOP:
            out.append(tok[:-1] if len(tok) > 3 and tok.endswith("s") else tok)
    return out


class BM25:
    """Okapi BM25 over a fixed list of documents.

    Args:
        docs: the texts to search.
        k1, b: the usual BM25 parameters.
    """

    def __init__(self, docs: list[str], k1: float = 1.5, b: float = 0.75):
        self.k1, self.b = k1, b
        self.tfs = [Counter(tokenize(d)) for d in docs]
        self.lens = [sum(tf.values()) for tf in self.tfs]
        self.avg = sum(self.lens) / max(len(self.lens), 1) or 1.0
        df: Counter[str] = Counter()
        for tf in self.tfs:
            df.update(tf.keys())
        n = len(docs)
        self.idf = {t: math.log(1 + (n - c + 0.5) / (c + 0.5)) for t, c in df.items()}

    def scores(self, query: str) -> list[float]:
        """One score per document (0 = no shared term)."""
        q = tokenize(query)
        out = []
        for tf, length in zip(self.tfs, self.lens):
            s = 0.0
            for t in q:
                f = tf.get(t, 0)
                if f:
                    s += self.idf[t] * f * (self.k1 + 1) / (f + self.k1 * (1 - self.b + self.b * length / self.avg))
            out.append(s)
        return out

    def best(self, query: str, min_score: float = 0.5) -> int | None:
        """Index of the best document, or None when nothing scores at least ``min_score``."""
        s = self.scores(query)
        if not s:
            return None
        i = max(range(len(s)), key=s.__getitem__)
        return i if s[i] >= min_score else None
