"""Test data built through the real models and services (no mocks of our own code)."""

import itertools

from inventory.models import Product, Store
from inventory.services import stock_increase

_seq = itertools.count(1)


def store(*, store_id: str | None = None, name: str = "Booth") -> Store:
    store_id = store_id or f"store_T{next(_seq)}"
    return Store.objects.get_or_create(pk=store_id, defaults={"name": name})[0]


def product(*, store_obj: Store | None = None, inventory: int = 10, name: str | None = None,
            link: bool = True, unit_amount: int = 2500, **fields) -> Product:
    n = next(_seq)
    store_obj = store_obj or store()
    defaults = {
        "stripe_product_id": f"prod_T{n}",
        "name": name or f"Sticker {n}",
        "stripe_price_id": f"price_T{n}",
        "unit_amount": unit_amount,
        "payment_link_id": f"plink_T{n}" if link else "",
        "payment_link_url": f"https://buy.stripe.com/test_T{n}" if link else "",
    }
    p = Product.objects.create(store=store_obj, **{**defaults, **fields})
    if inventory:
        stock_increase(product=p, quantity=inventory, source=f"test-initial:{p.pk}", reason="initial")
    p.refresh_from_db()
    return p
