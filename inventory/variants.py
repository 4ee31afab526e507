"""Variants: the sizes and colours of one product, and the product they make together.

One `Product` row is one variant: one Stripe price in one store, with its own stock, holds, ledger,
Payment Link and QR code, so every stock rule holds per variant unchanged. The rows of a store that
share a Stripe product id are one product for buyers (a `ProductFamily`): one page, one picture,
one name, a size picker. A product without variants is a family of one row with no size or colour.
"""

import re
from dataclasses import dataclass
from functools import cached_property

from django.db.models import Case, IntegerField, Q, Value, When

# One label per idea, wherever stock is shown (pages, booth screen, dashboard, broadcasts).
STOCK_STATE_TEXT = {"sold-out": "Sold out", "reserved": "Reserved", "low": "Only a few left", "ok": "In stock"}

# Letter sizes in the order people read them; anything else sorts after, numbers by value.
LETTER_SIZES = ["XXXS", "XXS", "XS", "S", "M", "L", "XL", "XXL", "XXXL", "4XL", "5XL"]
_SIZE_ALIASES = {"2XS": "XXS", "3XS": "XXXS", "2XL": "XXL", "3XL": "XXXL", "XXXXL": "4XL", "SMALL": "S",
                 "MEDIUM": "M", "LARGE": "L", "X-LARGE": "XL", "XX-LARGE": "XXL"}
_NUMBER = re.compile(r"^\d+(?:[.,]\d+)?$")


def size_sort_key(size: str) -> tuple:
    """XS < S < M < L < XL …, then numeric sizes by value (38 < 40 < 42), then any other text."""
    text = (size or "").strip()
    upper = _SIZE_ALIASES.get(text.upper(), text.upper())
    if not text:
        return (0, 0.0, "")
    if upper in LETTER_SIZES:
        return (1, float(LETTER_SIZES.index(upper)), "")
    if _NUMBER.match(text):
        return (2, float(text.replace(",", ".")), "")
    return (3, 0.0, text.casefold())


def variant_sort_key(product) -> tuple:
    return (size_sort_key(product.size), product.colour.casefold(), product.stripe_price_id)


def size_rank():
    """size_sort_key's order for the database (ORDER BY, the admin's lists), from the same sizes:
    no size, then letter sizes in order, then numbers, then other text (order by `size` after it)."""
    letters = []
    for rank, size in enumerate(LETTER_SIZES):
        spellings = [size] + [alias for alias, same in _SIZE_ALIASES.items() if same == size]
        letters.append(When(Q(*[Q(size__iexact=s) for s in spellings], _connector=Q.OR), then=Value(100 + rank)))
    return Case(When(size="", then=Value(0)), *letters,
                When(size__regex=_NUMBER.pattern, then=Value(200)), default=Value(300), output_field=IntegerField())


def variant_label(*, size: str, colour: str) -> str:
    """What tells one variant from its siblings: "M", "navy", "M · navy"; "" for no variant."""
    return " · ".join(part for part in (size, colour) if part)


@dataclass
class ProductFamily:
    """The variants of one Stripe product in one store, as buyers see them: one product.

    Rows come from Product.objects.with_availability(); the family's stock figures are derived from
    theirs here, once, so pages, feeds and broadcasts agree.
    """

    variants: list  # of Product, in size order

    def __post_init__(self):
        self.variants = sorted(self.variants, key=variant_sort_key)

    @property
    def first(self):
        return self.variants[0]

    # Shared by every variant (kept in step by inventory.catalogue).
    store = property(lambda self: self.first.store)
    store_id = property(lambda self: self.first.store_id)
    stripe_product_id = property(lambda self: self.first.stripe_product_id)
    name = property(lambda self: self.first.name)
    description = property(lambda self: self.first.description)
    long_description = property(lambda self: self.first.long_description)
    attributes = property(lambda self: self.first.attributes)
    tags = property(lambda self: self.first.tags)
    picture_url = property(lambda self: self.first.picture_url)

    @property
    def has_variants(self) -> bool:
        return len(self.variants) > 1 or bool(self.first.variant_label)

    @property
    def picker_legend(self) -> str:
        sizes = any(v.size for v in self.variants)
        colours = any(v.colour for v in self.variants)
        return "Size and colour" if sizes and colours else "Colour" if colours else "Size"

    @cached_property
    def available(self) -> int:
        return sum(v.available for v in self.variants)

    @cached_property
    def sold_out(self) -> bool:
        return all(v.sold_out for v in self.variants)

    @cached_property
    def all_reserved(self) -> bool:
        return self.sold_out and any(v.all_reserved for v in self.variants)

    @property
    def none_left(self) -> bool:
        return self.sold_out and not self.all_reserved

    @cached_property
    def low_stock(self) -> bool:
        """Few left overall: some left, and every variant that has any is low."""
        return not self.sold_out and all(v.sold_out or v.low_stock for v in self.variants)

    @cached_property
    def payable(self) -> bool:
        return any(v.payable for v in self.variants)

    @property
    def stock_state(self) -> str:
        if self.sold_out:
            return "reserved" if self.all_reserved else "sold-out"
        return "low" if self.low_stock else "ok"

    @property
    def stock_state_text(self) -> str:
        return STOCK_STATE_TEXT[self.stock_state]

    # The label of "few left", whatever the state now (a badge shown and hidden live shows this).
    low_stock_text = STOCK_STATE_TEXT["low"]

    @property
    def lowest_price(self):
        """The variant to quote a price from ("from 25.00 USD" when prices differ)."""
        return min(self.variants, key=lambda v: v.unit_amount)

    @property
    def prices_differ(self) -> bool:
        return len({(v.unit_amount, v.currency) for v in self.variants}) > 1

    def variant_for(self, *, price_id: str = "", size: str = "", colour: str = ""):
        """The variant a URL asks for (?price=… or ?size=…&colour=…); else the first still on sale."""
        for v in self.variants:
            if price_id and v.stripe_price_id == price_id:
                return v
        if size or colour:
            for v in self.variants:
                if (not size or v.size.casefold() == size.casefold()) and (
                        not colour or v.colour.casefold() == colour.casefold()):
                    return v
        return next((v for v in self.variants if not v.sold_out), self.first)

    def summary(self) -> dict:
        """The family's figures as a broadcast carries them (inventory/selectors.py)."""
        return {"available": self.available, "sold_out": self.sold_out, "reserved": self.all_reserved,
                "low_stock": self.low_stock,
                "payable": self.payable, "state": self.stock_state, "state_text": self.stock_state_text}


def families_of(products) -> list[ProductFamily]:
    """Group variant rows (of one store) into families, keeping the order of each family's first row."""
    grouped: dict[tuple[str, str], list] = {}
    for p in products:
        grouped.setdefault((p.store_id, p.stripe_product_id), []).append(p)
    return [ProductFamily(rows) for rows in grouped.values()]
