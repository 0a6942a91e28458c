"""The offline default "LLM": answers viewers from the product catalogue by retrieval and
templates, with no model download.

It answers what the catalogue knows (price, sizes, colours, stock, shipping, material, offer,
the merchant's FAQ) in the viewer's language (English or Chinese), and says so when it does
not know: it never invents a price, a size or a date.
"""
from __future__ import annotations

import re
import threading
from typing import Callable, Iterator, Sequence

from dhsdk.adapters.llm.base import LLM, Message
from dhsdk.commerce.catalog import Catalog, Product
from dhsdk.commerce.destination import destination, ships_to
from dhsdk.commerce.search import BM25, tokenize

_CJK = re.compile(r"[\u4e00-\u9fff]")

# intent -> keywords (English words/phrases, Chinese substrings)
INTENTS: dict[str, tuple[str, ...]] = {
    "price": ("how much", "price", "cost", "expensive", "cheap", "discount", "多少钱", "价格", "价钱", "几块", "贵"),
    "sizes": ("size", "sizes", "fit", "small", "large", "xl", "尺码", "码", "大小", "尺寸"),
    "colors": ("color", "colour", "colors", "colours", "颜色", "色"),
    "stock": ("in stock", "stock", "left", "available", "sold out", "库存", "还有", "有货", "卖完"),
    "shipping": ("ship", "shipping", "deliver", "delivery", "arrive", "when will", "发货", "快递", "包邮", "几天到", "物流",
                 "寄到", "运到", "送到", "发到", "邮到"),
    "material": ("material", "made of", "fabric", "cotton", "silk", "材质", "面料", "什么做的"),
    "offer": ("offer", "deal", "coupon", "promotion", "sale", "优惠", "活动", "折扣", "券"),
}


def detect_intent(question: str) -> str | None:
    """The catalogue field a question asks about, or None (then the FAQ is searched)."""
    q = question.lower()
    best, hits = None, 0
    for intent, words in INTENTS.items():
        n = sum(1 for w in words if (w in q if _CJK.search(w) or " " in w else re.search(rf"\b{re.escape(w)}\b", q)))
        if n > hits:
            best, hits = intent, n
    return best


def _zh(text: str) -> bool:
    return bool(_CJK.search(text))


class LocalLLM(LLM):
    """Catalogue-grounded answers.

    Args:
        catalog: the merchant's catalogue.
        current: id of the product being presented (questions that name no product are about
            it); the first product when None.
    """

    def __init__(self, catalog: Catalog, current: str | None = None):
        self.catalog = catalog
        self.current = current or catalog.products[0].id
        self._products = BM25([p.name + " " + " ".join(p.aliases) for p in catalog.products])
        self._faq = [(p, f) for p in catalog.products for f in p.faq]
        self._faq_index = BM25([f.q for _, f in self._faq])

    def answer(self, question: str) -> str:
        """One grounded answer to a viewer's question."""
        zh = _zh(question)
        hit = self._products.best(question, min_score=1.0)
        product = self.catalog.products[hit] if hit is not None else self.catalog.get(self.current)
        intent = detect_intent(question)
        place = destination(question) if intent == "shipping" else None
        if place is not None:
            return self._destination_answer(product, place, zh)
        if intent is None:
            j = self._faq_match(question)
            if j is not None:
                return self._faq[j][1].a
            return ("这个问题我需要和团队确认一下，稍后回复您。" if zh else
                    f"Good question! I don't have that detail for the {product.name} yet; our team will get back to you.")
        return self._field_answer(product, intent, zh)

    def _faq_match(self, question: str) -> int | None:
        """The FAQ entry answering ``question``: the best BM25 hit, if it shares at least half
        of the question's content words (BM25 alone scores low when a shop has one FAQ)."""
        j = self._faq_index.best(question, min_score=1e-9)
        if j is None:
            return None
        words = set(tokenize(question))
        return j if len(words & set(tokenize(self._faq[j][1].q))) >= 0.5 * len(words) else None

    def _destination_answer(self, p: Product, place: str, zh: bool) -> str:
        """Whether ``p`` ships to ``place``, as far as the catalogue says; else that it is not known."""
        where = ("海外" if zh else "abroad") if place == "abroad" else place
        to = where if place == "abroad" else f"to {where}"
        answer = ships_to(p, place)
        if answer is None:
            return (f"{p.name}能不能寄到{where}，我暂时不确定，稍后和团队确认后告诉您。" if zh else
                    f"I don't know yet whether the {p.name} ships {to}; I'll check with the team and "
                    f"come back to you.")
        if not answer:
            return (f"{p.name}目前只寄到{'、'.join(p.ships_to)}。" if zh else
                    f"The {p.name} ships to {_join(p.ships_to)} only, not {to}.")
        detail = p.shipping or ""
        return (f"可以，{p.name}能寄到{where}" + (f"，{detail}。" if detail else "。") if zh else
                f"Yes, the {p.name} ships {to}" + (f"; it {detail}." if detail else "."))

    def _field_answer(self, p: Product, intent: str, zh: bool) -> str:
        c = self.catalog
        unknown = (f"关于{p.name}的这个信息我暂时没有，稍后确认后告诉您。" if zh else
                   f"I don't have that information for the {p.name} right now; I'll check and come back to you.")
        templates: dict[str, Callable[[], str | None]] = {
            "price": lambda: None if p.price is None else (
                (f"{p.name}今天只要{c.price_text(p.price)}" + (f"，原价{c.price_text(p.original_price)}。" if p.original_price else "。"))
                if zh else
                (f"The {p.name} is {c.price_text(p.price)} today" +
                 (f", down from {c.price_text(p.original_price)}." if p.original_price else "."))),
            "sizes": lambda: None if not p.sizes else (
                f"{p.name}有{'、'.join(p.sizes)}这几个尺码。" if zh else
                f"The {p.name} comes in sizes {_join(p.sizes)}."),
            "colors": lambda: None if not p.colors else (
                f"{p.name}有{'、'.join(p.colors)}几种颜色。" if zh else
                f"The {p.name} comes in {_join(p.colors)}."),
            "stock": lambda: None if p.stock is None else (
                (f"{p.name}还有{p.stock}件库存。" if p.stock > 0 else f"{p.name}已经卖完了。") if zh else
                (f"We have {p.stock} of the {p.name} left." if p.stock > 0 else f"The {p.name} is sold out right now.")),
            "shipping": lambda: None if not p.shipping else (
                f"{p.name}：{p.shipping}。" if zh else f"The {p.name} {p.shipping}."),
            "material": lambda: None if not p.material else (
                f"{p.name}的材质是{p.material}。" if zh else f"The {p.name} is made of {p.material}."),
            "offer": lambda: None if not p.offer else (
                f"现在的优惠是：{p.offer}。" if zh else f"Today's offer: {p.offer}."),
        }
        return templates[intent]() or unknown

    def stream_chat(self, messages: Sequence[Message], cancel: threading.Event | None = None) -> Iterator[str]:
        question = next((m["content"] for m in reversed(messages) if m["role"] == "user"), "")
        text = self.answer(question)
        # Stream word by word (character runs for Chinese) like a real model would.
        for piece in re.findall(r"\S+\s*|\s+", text):
            if cancel is not None and cancel.is_set():
                return
            yield piece


def _join(items: Sequence[str]) -> str:
    items = list(items)
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]
