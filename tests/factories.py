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


def variants(*, store_obj: Store | None = None, sizes: dict[str, int], name: str = "Tee", link: bool = True,
             unit_amount: int = 2500, **fields) -> dict[str, Product]:
    """One product in sizes: a row per size, each with its own price, link and stock ({size: stock})."""
    n = next(_seq)
    store_obj = store_obj or store()
    made = {}
    for size, stock in sizes.items():
        made[size] = product(store_obj=store_obj, inventory=stock, name=name, link=link, unit_amount=unit_amount,
                             stripe_product_id=f"prod_V{n}", stripe_price_id=f"price_V{n}{size}", size=size,
                             **({"payment_link_id": f"plink_V{n}{size}",
                                 "payment_link_url": f"https://buy.stripe.com/test_V{n}{size}"} if link else {}),
                             **fields)
    return made
