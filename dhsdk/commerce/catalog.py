"""Product catalogue: the merchant's facts the host may say (and the only prices it may say).

A YAML or JSON file::

    shop: Demo Boutique
    currency: "$"
    language: en            # or zh
    products:
      - id: dress-01
        name: Silk summer dress
        aliases: [dress, 连衣裙]
        price: 19.99
        original_price: 39.99
        stock: 120
        sizes: [S, M, L, XL]
        colors: [ivory, navy]
        material: 100% mulberry silk
        shipping: ships within 24 hours
        ships_to: [United States, Canada]   # where it ships; "worldwide" for anywhere
        selling_points: [breathable silk, machine washable]
        offer: half price for the first 100 orders
        faq:
          - q: Is it see-through?
            a: No, it has a full lining.
        script: ["The merchant's own words.", "Said instead of the generated pitch."]
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dhsdk.errors import InputError


@dataclass
class FAQ:
    """A question the merchant has answered."""

    q: str
    a: str


@dataclass
class Product:
    """One product. Fields left as None are unknown: the host never invents them."""

    id: str
    name: str
    aliases: list[str] = field(default_factory=list)
    price: float | None = None
    original_price: float | None = None
    stock: int | None = None
    sizes: list[str] = field(default_factory=list)
    colors: list[str] = field(default_factory=list)
    material: str | None = None
    shipping: str | None = None
    ships_to: list[str] = field(default_factory=list)
    selling_points: list[str] = field(default_factory=list)
    offer: str | None = None
    faq: list[FAQ] = field(default_factory=list)
    script: list[str] = field(default_factory=list)   # the merchant's own lines: said instead of the generated pitch

    def text(self) -> str:
        """Everything searchable about the product, for retrieval."""
        parts = [self.name, *self.aliases, *self.sizes, *self.colors, self.material or "", self.shipping or "",
                 *self.ships_to, *self.selling_points, self.offer or ""]
        parts += [f"{f.q} {f.a}" for f in self.faq]
        return " ".join(parts)


@dataclass
class Catalog:
    """The shop and its products."""

    shop: str
    currency: str
    language: str
    products: list[Product]

    def get(self, product_id: str) -> Product:
        for p in self.products:
            if p.id == product_id:
                return p
        raise InputError(f"no product {product_id!r} in the catalogue (ids: {', '.join(p.id for p in self.products)})")

    def price_text(self, value: float) -> str:
        """``$19.99`` / ``¥199``: the currency symbol and the price as the merchant wrote it."""
        return f"{self.currency}{value:g}" if float(value).is_integer() else f"{self.currency}{value:.2f}"


_FIELDS = {f for f in Product.__dataclass_fields__}


def load_catalog(path: str | Path) -> Catalog:
    """Read and validate a catalogue file (.yaml, .yml or .json).

    Raises:
        InputError: missing file, bad syntax, or a product without id/name or with a
            malformed field (the message names the product and the field).
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"catalogue {path} does not exist")
    text = path.read_text(encoding="utf-8")
    try:
        if path.suffix.lower() == ".json":
            data = json.loads(text)
        else:
            import yaml

            data = yaml.safe_load(text)
    except Exception as e:  # noqa: BLE001 - any parser error is reported the same way
        raise InputError(f"catalogue {path} cannot be parsed: {e}") from e
    return catalog_from_dict(data, str(path))


def catalog_from_dict(data: Any, source: str = "catalogue") -> Catalog:
    """Validate a parsed catalogue (see :func:`load_catalog`)."""
    if not isinstance(data, dict) or not isinstance(data.get("products"), list) or not data["products"]:
        raise InputError(f"{source}: expected a mapping with a non-empty 'products' list")
    products = []
    for n, raw in enumerate(data["products"]):
        where = f"{source}: product #{n + 1}"
        if not isinstance(raw, dict) or not raw.get("id") or not raw.get("name"):
            raise InputError(f"{where} needs at least 'id' and 'name'")
        unknown = set(raw) - _FIELDS
        if unknown:
            raise InputError(f"{where} ({raw['id']}) has unknown fields {sorted(unknown)}; known: {sorted(_FIELDS)}")
        item = dict(raw)
        try:
            for key in ("price", "original_price"):
                if item.get(key) is not None:
                    item[key] = float(item[key])
            if item.get("stock") is not None:
                item["stock"] = int(item["stock"])
            item["faq"] = [FAQ(str(f["q"]), str(f["a"])) for f in item.get("faq") or []]
            for key in ("aliases", "sizes", "colors", "ships_to", "selling_points", "script"):
                item[key] = [str(v) for v in item.get(key) or []]
        except (TypeError, ValueError, KeyError) as e:
            raise InputError(f"{where} ({raw['id']}) has a malformed field: {e}") from e
        products.append(Product(**{k: v for k, v in item.items()}))
    ids = [p.id for p in products]
    if len(set(ids)) != len(ids):
        raise InputError(f"{source}: product ids must be unique, got {ids}")
    return Catalog(shop=str(data.get("shop", "our shop")), currency=str(data.get("currency", "$")),
                   language=str(data.get("language", "en")), products=products)
