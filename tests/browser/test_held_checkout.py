"""The held checkout in a real browser (issue 10's "done when"): a buyer scans the last pin's QR
code, is held a unit, pays on the simulated Stripe page, and a watcher's page falls to sold out
live; the next buyer is told it is gone before paying."""

import pytest
from django.urls import reverse

from inventory.models import QrMode

from .conftest import off_loop, screenshot, stocked_product, wait_live
from .test_qr import decode

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _held(store):
    store.qr_mode = QrMode.HELD_CHECKOUT
    off_loop(store.save)
    return store


def test_scan_hold_pay_and_the_next_buyer_is_told_before_paying(server, webhook_url, context, browser, store, tmp_path):
    pin = stocked_product(_held(store), 1, name="Enamel pin")
    watcher = context.new_page()
    watcher.goto(server.url + reverse("inventory:product_page", args=[store.pk, pin.stripe_product_id]))
    wait_live(watcher)

    # The code printed on the stand leads to our own scan URL.
    (scanned,) = decode(watcher.locator(".qr-code svg").screenshot(), tmp_path, "held-qr.png")
    assert scanned == f"{server.url}/q/{pin.scan_code}/"

    buyer = context.new_page()
    buyer.goto(scanned)
    buyer.get_by_role("button", name="Hold and pay with Stripe").click()
    buyer.wait_for_url("**/offline/checkout/**")
    assert buyer.get_by_text("Simulated Stripe Checkout").is_visible()
    buyer.get_by_role("button", name="Pay").first.click()
    buyer.wait_for_url("**/checkout/**?from=stripe")
    buyer.locator("[data-status-box][data-status='paid']").wait_for()
    screenshot(buyer, "held-checkout-paid.png")

    watcher.locator("p.sold-out").wait_for(state="visible")

    other_buyer = browser.new_context()
    try:
        second = other_buyer.new_page()
        second.goto(scanned)
        assert second.locator("p.sold-out").is_visible()
        assert not second.get_by_role("button", name="Hold and pay with Stripe").is_visible()
        assert second.get_by_text("Tell me once when it is back").is_visible()
        screenshot(second, "held-checkout-sold-out.png")
    finally:
        other_buyer.close()
