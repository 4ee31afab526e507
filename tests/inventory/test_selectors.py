"""Selectors say "not found" in the domain's words; views turn that into a 404 in one place."""

import pytest
from django.http import Http404

from common.lookups import NotFound, or_404
from inventory import selectors
from inventory.exceptions import ProductNotFound, StoreNotFound
from tests import factories

pytestmark = pytest.mark.django_db


def test_an_unknown_store_or_product_is_a_domain_not_found():
    # given
    store = factories.store_create()
    # when / then
    with pytest.raises(StoreNotFound, match="store_NOPE"):
        selectors.store_get(store_id="store_NOPE")
    with pytest.raises(ProductNotFound, match="prod_NOPE") as missing:
        selectors.product_get(store_id=store.pk, stripe_product_id="prod_NOPE")
    assert isinstance(missing.value, NotFound) and missing.value.store_id == store.pk
    with pytest.raises(ProductNotFound):
        selectors.product_by_id(product_id=0)


def test_or_404_returns_what_the_selector_found_and_turns_not_found_into_a_404():
    # given
    product = factories.product_create()
    # when / then
    assert or_404(selectors.product_by_id, product_id=product.pk) == product
    with pytest.raises(Http404, match="No store 'store_NOPE'"):
        or_404(selectors.store_get, store_id="store_NOPE")
