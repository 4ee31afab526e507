"""Fixtures the payments tests share."""

import pytest

from inventory.models import QrMode


@pytest.fixture
def make_pooled_product(stripe_offline, make_store, make_product, settings):
    """``make_pooled_product(**product_fields)``: a product in a held-checkout store of its own, with
    Checkout Sessions pooled ahead (HELD_CHECKOUT_POOL_SIZE 5; the pool is empty until filled)."""
    settings.HELD_CHECKOUT_POOL_SIZE = 5

    def make(**fields):
        store = make_store()
        store.qr_mode = QrMode.HELD_CHECKOUT
        store.save()
        return make_product(store=store, **fields)

    return make
