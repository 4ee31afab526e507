"""Products and prices: what a Checkout Session or a Payment Link sells, and at what price."""

from __future__ import annotations

import time

from .errors import invalid
from .objects import Resources, merge_metadata, page, public, serves
from .shapes import shape, token


def line_item(price: dict, quantity: int, *, description: str, id: str | None = None) -> dict:
    """A line item (``item``) of ``quantity`` at ``price`` (a price object, served inside the item)."""
    amount = price["unit_amount"] * quantity
    return shape("item", id=id or f"li_{token(24)}", price=public(price), quantity=quantity, currency=price["currency"],
                 description=description, amount_subtotal=amount, amount_total=amount, amount_discount=0,
                 amount_tax=0)


def price_shape(id: str, *, product: str, unit_amount: int, currency: str = "usd", **fields) -> dict:
    # One-time prices only: the fixture's example is a recurring one.
    defaults = dict(type="one_time", recurring=None, transform_quantity=None, custom_unit_amount=None, metadata={},
                    lookup_key=None, nickname=None, active=True, created=int(time.time()))
    # A customer-chosen amount (unit_amount None) has no decimal either, as Stripe serves it.
    return shape("price", id=id, product=product, unit_amount=unit_amount,
                 unit_amount_decimal=None if unit_amount is None else str(unit_amount),
                 currency=currency, **{**defaults, **fields})


class Catalogue(Resources):
    # -- for tests -------------------------------------------------------------------------------

    def add_product(self, id: str, *, name: str | None = None, **fields) -> dict:
        now = int(time.time())
        product = shape("product", id=id, name=name or id, description=None, default_price=None, images=[],
                        marketing_features=[], metadata={}, package_dimensions=None, url=None, created=now,
                        updated=now)
        product.update(fields)
        return public(self._put(product))

    def add_price(self, id: str, *, product: str, unit_amount: int, currency: str = "usd", **fields) -> dict:
        """A one-time price; its product is added too (named after its id) when the fake lacks it."""
        with self._lock:
            if product not in self._objects["product"]:
                self.add_product(product, default_price=id)
            return public(self._put(price_shape(id, product=product, unit_amount=unit_amount, currency=currency,
                                                **fields)))

    def _price(self, id: str, param: str) -> dict:
        return self._find("price", id, param, status=400)

    # -- endpoints -------------------------------------------------------------------------------

    @serves("POST", "/v1/products")
    def _create_product(self, params):
        id = params.get("id") or f"prod_{token(14)}"
        if id in self._objects["product"]:
            raise invalid("id", "Product already exists.", "resource_already_exists")
        fields = {k: v for k, v in params.items() if k in shape("product") and k not in ("id", "metadata")}
        product = self.add_product(id, **fields, metadata=merge_metadata({}, params.get("metadata")))
        if params.get("default_price_data"):
            data = params["default_price_data"]
            price = f"price_{token(24)}"
            self.add_price(price, product=id, unit_amount=data.get("unit_amount", 0), currency=data["currency"])
            self._objects["product"][id]["default_price"] = price
            product = public(self._objects["product"][id])
        return product

    @serves("GET", "/v1/products/{id}")
    def _get_product(self, params, id):
        return public(self._find("product", id))

    @serves("GET", "/v1/products")
    def _list_products(self, params):
        wanted = set(params.get("ids") or [])
        products = [p for p in reversed(self._objects["product"].values())  # newest first
                    if ("active" not in params or p["active"] == params["active"])
                    and (not wanted or p["id"] in wanted)]
        return page(products, params, "/v1/products")

    @serves("POST", "/v1/prices")
    def _create_price(self, params):
        if params.get("product_data"):
            product = f"prod_{token(14)}"
            self.add_product(product, name=params["product_data"]["name"])
        elif params.get("product"):
            product = self._find("product", params["product"], "product", status=400)["id"]
        else:
            raise invalid("product", "You must specify either `product` or `product_data` when creating a price.",
                          "parameter_missing")
        if "unit_amount" not in params:
            raise invalid("unit_amount", "Missing required param: unit_amount.", "parameter_missing")
        fields = {k: params[k] for k in ("active", "nickname", "lookup_key") if k in params}
        return self.add_price(f"price_{token(24)}", product=product, unit_amount=params["unit_amount"],
                              currency=params["currency"], metadata=merge_metadata({}, params.get("metadata")),
                              **fields)

    @serves("GET", "/v1/prices/{price}")
    def _get_price(self, params, id):
        return public(self._find("price", id))

    @serves("GET", "/v1/prices")
    def _list_prices(self, params):
        filters = {k: params[k] for k in ("product", "active", "currency", "type") if k in params}
        prices = [p for p in reversed(self._objects["price"].values())
                  if all(p[k] == v for k, v in filters.items())]
        return page(prices, {k: v for k, v in params.items() if k not in filters}, "/v1/prices")
