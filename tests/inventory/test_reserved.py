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


def test_reserved_says_when_the_earliest_hold_lapses_on_every_page(client, make_store, make_product):
    # given: the last units held by two buyers, the first lapsing in 4 min 10 s (the other in 10 min)
    from inventory.models import QrMode
    from inventory.reserved import snapshot_with_lapse

    store = make_store(name="Hall T")
    store.qr_mode = QrMode.HELD_CHECKOUT
    store.save()
    pin = make_product(store=store, inventory=3, name="Enamel pin")
    soon = timezone.now() + timedelta(minutes=4, seconds=10)
    stock_reserve_lines(lines=[StockLine(pin.pk, 1)], hold_ref="buyer-soon", expires_at=soon)
    stock_reserve_lines(lines=[StockLine(pin.pk, 2)], hold_ref="buyer-later",
                        expires_at=timezone.now() + timedelta(minutes=10))

    # then: every page says "back in 5 min" (rounded up), for the page to count down from
    for url in (reverse("inventory:product_page", args=[store.pk, pin.stripe_product_id]),
                reverse("inventory:store_page", args=[store.pk]),
                reverse("inventory:booth_screen", args=[store.pk])):
        doc = page(client.get(url))
        back_in = [n for n in doc.find_all() if "data-back-in" in n.attrs]
        assert back_in, url
        assert all(n.text() == "Reserved — back in 5 min" for n in back_in), (url, [n.text() for n in back_in])
        assert 240 <= int(back_in[0].attrs["data-back-in-seconds"]) <= 250
    # the scan page (a rush's turned-away buyers: no query more) leaves the minutes to its live feed
    doc = page(client.get(reverse("payments:scan", args=[pin.scan_code])))
    (back_in,) = [n for n in doc.find_all() if "data-back-in" in n.attrs]
    assert back_in.text() == "Reserved — may come back" and back_in.attrs["data-back-in-seconds"] == ""
    # and the broadcast (and the feed's first message) carries the moment, for the variant and the product
    message = snapshot_with_lapse(selectors.stock_snapshot(product_id=pin.pk))
    assert message["back_at"] == pytest.approx(soon.timestamp(), abs=0.01)
    assert message["family"]["back_at"] == pytest.approx(soon.timestamp(), abs=0.01)


def test_stock_on_sale_asks_nothing_about_holds(make_product, django_assert_num_queries):
    from inventory.reserved import snapshot_with_lapse

    pin = make_product(inventory=3)
    stock_reserve_lines(lines=[StockLine(pin.pk, 1)], hold_ref="buyer", expires_at=timezone.now() + timedelta(minutes=5))
    snapshot = selectors.stock_snapshot(product_id=pin.pk)

    with django_assert_num_queries(0):
        message = snapshot_with_lapse(snapshot)
    assert "back_at" not in message and "back_at" not in message["family"]
