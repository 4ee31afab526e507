from dataclasses import dataclass

from common.lookups import NotFound


@dataclass(frozen=True)
class Shortfall:
    product_id: int
    product_name: str
    requested: int
    available: int

    def __str__(self):
        return f"{self.product_name}: wanted {self.requested}, {self.available} left"


class InsufficientStock(Exception):
    """Raised once with every short line, so a caller can name them all."""

    def __init__(self, shortfalls: list[Shortfall]):
        self.shortfalls = shortfalls
        super().__init__("Not enough stock: " + "; ".join(str(s) for s in shortfalls))


class InvalidStockChange(ValueError):
    """A stock change that makes no sense (zero or negative quantity, negative level)."""


class StoreNotFound(NotFound):
    def __init__(self, store_id: str):
        self.store_id = store_id
        super().__init__(f"No store {store_id!r}.")


class ProductNotFound(NotFound):
    def __init__(self, *, store_id: str | None = None, stripe_product_id: str | None = None,
                 product_id: int | None = None, price_id: str = ""):
        self.store_id, self.stripe_product_id, self.product_id = store_id, stripe_product_id, product_id
        self.price_id = price_id
        if product_id is not None:
            message = f"No product with id {product_id}."
        elif price_id:
            message = f"No variant with price {price_id!r} of product {stripe_product_id!r} in store {store_id!r}."
        else:
            message = f"No product {stripe_product_id!r} in store {store_id!r}."
        super().__init__(message)


class VariantRequired(NotFound):
    """The product comes in sizes or colours, and the caller did not say which one (by its price):
    no single variant is found (a page answers 404 naming the choices; the API a 400)."""

    def __init__(self, family):
        self.family = family
        choices = ", ".join(f"{v.stripe_price_id} ({v.variant_label})" for v in family.variants)
        super().__init__(f"{family.name} comes in several variants: choose one by its price ({choices}).")


@dataclass(frozen=True)
class Refusal:
    """Why one product's change (or one line of a form or file) cannot be made."""

    product_id: int | None
    product_name: str
    reason: str

    def __str__(self):
        return f"{self.product_name}: {self.reason}" if self.product_name else self.reason


class StockChangeRefused(InvalidStockChange):
    """Raised once with every refused line: nothing of the operation was changed."""

    def __init__(self, refusals: list[Refusal]):
        self.refusals = refusals
        super().__init__("; ".join(str(r) for r in refusals))


class StockConflict(StockChangeRefused):
    """Refused by the stock as it is now (units held for buyers, not enough left), not by the input:
    the same request may succeed later (a 409, where bad input is a 400)."""
