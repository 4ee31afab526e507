"""Units held for buyers paying now read as "reserved, may come back", not as sold out."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from inventory import selectors
from inventory.services import StockLine, stock_reserve_lines
from tests.inventory.test_pages import page, shown_when

pytestmark = pytest.mark.django_db


def hold_all(product) -> None:
    stock_reserve_lines(lines=[StockLine(product.pk, product.inventory)], hold_ref="checkout-paying-now",
                        expires_at=timezone.now() + timedelta(minutes=10))


def test_everything_held_reads_reserved_on_every_page(client, make_store, make_product):
    store = make_store(name="Hall R")
    pin = make_product(store=store, inventory=2, name="Enamel pin")
    hold_all(pin)

    snapshot = selectors.stock_snapshot(product_id=pin.pk)
    assert (snapshot["available"], snapshot["sold_out"], snapshot["reserved"]) == (0, True, True)
    assert snapshot["state_text"] == "Reserved"
    for url in (reverse("inventory:product_page", args=[store.pk, pin.stripe_product_id]),
                reverse("inventory:store_page", args=[store.pk]),
                reverse("inventory:booth_screen", args=[store.pk])):
        doc = page(client.get(url))
        container = next(n for n in doc.find_all() if n.attrs.get("data-stock-product") == pin.stripe_product_id)
        assert shown_when(container, "reserved") and not shown_when(container, "sold-out"), url
        assert container.attrs["data-reserved"] == "true"


def test_nothing_left_at_all_is_sold_out_not_reserved(client, make_store, make_product):
    store = make_store(name="Hall S")
    tote = make_product(store=store, inventory=0, name="Tote")

    snapshot = selectors.stock_snapshot(product_id=tote.pk)
    assert (snapshot["sold_out"], snapshot["reserved"], snapshot["state_text"]) == (True, False, "Sold out")
    doc = page(client.get(reverse("inventory:product_page", args=[store.pk, tote.stripe_product_id])))
    container = next(n for n in doc.find_all() if n.attrs.get("data-stock-product") == tote.stripe_product_id)
    assert shown_when(container, "sold-out") and not shown_when(container, "reserved")
    assert doc.find("form", **{"class": "waitlist"}).shown  # the waitlist, for the next restock


def test_the_quantity_page_has_the_waitlist_ready_for_when_stock_hits_zero_live(client, make_store, make_product):
    from inventory.models import QrMode

    store = make_store(name="Hall Q")
    store.qr_mode = QrMode.HELD_CHECKOUT
    store.save()
    pin = make_product(store=store, inventory=3, name="Pin")

    doc = page(client.get(reverse("payments:scan", args=[pin.scan_code])))

    waitlist = doc.find("form", **{"class": "waitlist"})
    assert waitlist is not None and not waitlist.shown and waitlist.attrs["data-show-when"] == "sold-out"
