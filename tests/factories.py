"""Test data built through the real models and services (no mocks of our own code), as fixtures
(a plugin of tests/conftest.py):

    def test_store_page(make_store, make_product):
        hall = make_store(name="Hall A")
        tee = make_product(store=hall, name="Tee", inventory=12)

Every store gets an id of its own (Channels groups are named after it, and Redis may be shared).
``make_product(link_at=...)`` puts the product's Payment Link where payments will look for it, before
the first stock arrives (payments follows stock to the link at once): ``offline_link`` (the offline
gateway's notebook, as in the demo) or ``tests.payments.helpers.payment_link_at(fake)`` (the Stripe fake).
"""

import itertools
import uuid
from collections.abc import Callable

import pytest

from inventory.models import Product, Store
from inventory.services import stock_increase

_seq = itertools.count(1)


def store_create(*, store_id: str | None = None, name: str = "Booth") -> Store:
    store_id = store_id or f"store_T{uuid.uuid4().hex[:12]}"
    return Store.objects.get_or_create(pk=store_id, defaults={"name": name})[0]


def product_create(*, store: Store | None = None, inventory: int = 10, name: str | None = None, link: bool = True,
                   unit_amount: int = 2500, link_at: Callable[[Product], object] | None = None, **fields) -> Product:
    n = next(_seq)
    defaults = {
        "stripe_product_id": f"prod_T{n}",
        "name": name or f"Sticker {n}",
        "stripe_price_id": f"price_T{n}",
        "unit_amount": unit_amount,
        "payment_link_id": f"plink_T{n}" if link else "",
        "payment_link_url": f"https://buy.stripe.com/test_T{n}" if link else "",
    }
    p = Product.objects.create(store=store or store_create(), **{**defaults, **fields})
    if link_at:
        link_at(p)
    if inventory:
        stock_increase(product=p, quantity=inventory, source=f"test-initial:{p.pk}", reason="initial")
    p.refresh_from_db()
    return p


def offline_link(product: Product) -> None:
    """The product's Payment Link, held by the offline gateway (the demo's Stripe)."""
    from payments.gateway import get_gateway
    from payments.offline.gateway import OfflineGateway
    from payments.offline.simulator import offline_payment_link_shape

    gateway = get_gateway()
    assert isinstance(gateway, OfflineGateway), "an offline Payment Link needs Stripe offline (no STRIPE_SECRET_KEY)"
    gateway.notebook_put(offline_payment_link_shape(product=product, url=product.payment_link_url))


@pytest.fixture
def make_store() -> Callable[..., Store]:
    """``make_store(*, store_id=None, name="Booth")``."""
    return store_create


@pytest.fixture
def make_product() -> Callable[..., Product]:
    """``make_product(*, store=None, inventory=10, name=None, link=True, unit_amount=2500, link_at=None,
    **model_fields)``: a product (in a store of its own unless given), its first stock through the ledger."""
    return product_create


def variants_create(*, store: Store | None = None, sizes: dict[str, int], name: str = "Tee", link: bool = True,
                    unit_amount: int = 2500, link_at: Callable[[Product], object] | None = None,
                    **fields) -> dict[str, Product]:
    """One product in sizes, {size: stock}: a row per size, each with its own price, Payment Link and stock."""
    n = next(_seq)
    store = store or store_create()
    product_id = fields.pop("stripe_product_id", f"prod_V{n}")
    return {size: product_create(store=store, inventory=stock, name=name, link=link, unit_amount=unit_amount,
                                 link_at=link_at, stripe_product_id=product_id, stripe_price_id=f"price_V{n}{size}",
                                 size=size, **({"payment_link_id": f"plink_V{n}{size}",
                                                "payment_link_url": f"https://buy.stripe.com/test_V{n}{size}"}
                                               if link else {}), **fields)
            for size, stock in sizes.items()}


@pytest.fixture
def make_variants() -> Callable[..., dict[str, Product]]:
    """``make_variants(*, store=None, sizes={"S": 3, "M": 1}, name="Tee", link=True, link_at=None, **model_fields)``:
    one product in sizes, {size: its row}."""
    return variants_create
