"""Selling scripts: a run of show per product (intro, selling points, offer, call to action),
from an LLM when one is configured, from templates otherwise. Only catalogue facts are used.
"""
from __future__ import annotations

from dataclasses import dataclass

from dhsdk.adapters.llm.base import LLM
from dhsdk.adapters.segment import split_sentences
from dhsdk.commerce.catalog import Catalog, Product

SEGMENTS = ("intro", "selling_points", "offer", "call_to_action")


@dataclass
class Segment:
    """One part of the run of show.

    Attributes:
        product_id: the product it presents.
        kind: one of :data:`SEGMENTS`.
        sentences: what to say, one sentence each.
    """

    product_id: str
    kind: str
    sentences: list[str]


def template_script(catalog: Catalog, product: Product) -> list[Segment]:
    """The run of show for one product from templates (English or Chinese by catalogue language)."""
    zh = catalog.language.startswith("zh")
    price = catalog.price_text(product.price) if product.price is not None else None
    was = catalog.price_text(product.original_price) if product.original_price is not None else None
    if zh:
        intro = [f"欢迎来到{catalog.shop}的直播间！", f"接下来给大家介绍这款{product.name}。"]
        points = [f"{p}。" for p in product.selling_points]
        offer = ([f"今天直播间只要{price}" + (f"，原价{was}。" if was else "。")] if price else []) + \
                ([f"{product.offer}。"] if product.offer else [])
        cta = ["喜欢的朋友赶紧点击下方购物车下单吧！"]
    else:
        intro = [f"Welcome to {catalog.shop}!", f"Let me show you our {product.name}."]
        points = [p[0].upper() + p[1:] + ("." if p[-1] not in ".!?" else "") for p in product.selling_points]
        offer = ([f"Today it is only {price}" + (f", down from {was}." if was else ".")] if price else []) + \
                ([product.offer[0].upper() + product.offer[1:] + "."] if product.offer else [])
        cta = ["Tap the cart below to get yours now!"]
    parts = {"intro": intro, "selling_points": points, "offer": offer, "call_to_action": cta}
    return [Segment(product.id, k, parts[k]) for k in SEGMENTS if parts[k]]


def product_facts(catalog: Catalog, product: Product, exclude: tuple[str, ...] = ("id", "aliases", "script")) -> dict:
    """What an LLM may say about ``product``: its known fields, prices written with the currency
    (``"$19.99"``) so the model does not have to format (or invent) them."""
    facts = {k: v for k, v in product.__dict__.items() if v not in (None, [], "") and k not in exclude}
    for key in ("price", "original_price"):
        if key in facts:
            facts[key] = catalog.price_text(facts[key])
    if "faq" in facts:
        facts["faq"] = [{"q": f.q, "a": f.a} for f in product.faq]
    return facts


def llm_script(llm: LLM, catalog: Catalog, product: Product) -> list[Segment]:
    """The run of show written by an LLM from the catalogue facts only.

    The model is told to use no fact, number or claim beyond those given; the compliance
    filter still checks every sentence before it is spoken.
    """
    facts = product_facts(catalog, product, exclude=("id", "aliases", "faq", "script"))
    lang = "Chinese" if catalog.language.startswith("zh") else "English"
    segments = []
    for kind in SEGMENTS:
        prompt = (f"You are a friendly live-commerce host for {catalog.shop}. Write the {kind.replace('_', ' ')} "
                  f"part of the pitch for this product in {lang}, two or three short spoken sentences. Use only "
                  f"these facts; never invent prices, numbers or claims; no superlatives like 'best ever'. "
                  f"Prices use the currency {catalog.currency}.\nFacts: {facts}")
        text = llm.chat([{"role": "user", "content": prompt}])
        sentences = split_sentences(text)
        if sentences:
            segments.append(Segment(product.id, kind, sentences))
    return segments
