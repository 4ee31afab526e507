""""Reserved — back in N min" as people see it: live when the last units are held, counting down."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from inventory.services import StockLine, stock_reserve_lines

from .conftest import off_loop, screenshot, stocked_product, wait_live

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def shows(page, selector: str, text: str, timeout: float = 5000) -> None:
    page.wait_for_function(
        """([selector, text]) => [...document.querySelectorAll(selector)].some(
               n => !n.closest('[hidden]') && n.textContent.trim() === text)""",
        arg=[selector, text], timeout=timeout)


def test_held_units_read_reserved_back_in_n_min_live_and_count_down(server, browser, store):
    # given: the product page on a phone and the booth board, the product still on sale
    pin = stocked_product(store, 2, name="Enamel pin")
    phone = browser.new_context(viewport={"width": 390, "height": 844})
    board = browser.new_context(viewport={"width": 1366, "height": 768})
    other_phone = browser.new_context(viewport={"width": 390, "height": 844})  # a tab of its own, in front
    try:
        product_page, booth = phone.new_page(), board.new_page()
        for page, url in ((product_page, reverse("inventory:product_page", args=[store.pk, pin.stripe_product_id])),
                          (booth, reverse("inventory:booth_screen", args=[store.pk]))):
            page.clock.install()
            page.goto(server.url + url)
            wait_live(page)
        assert not product_page.locator(".stock-panel .reserved").is_visible()
        product_page.evaluate("window.__sameDocument = true")  # gone if the page reloads

        # when: buyers hold the last units, the earliest hold lapsing in 9 min 30 s
        off_loop(stock_reserve_lines, lines=[StockLine(pin.pk, 1)], hold_ref="buyer-a",
                 expires_at=timezone.now() + timedelta(minutes=9, seconds=30))
        off_loop(stock_reserve_lines, lines=[StockLine(pin.pk, 1)], hold_ref="buyer-b",
                 expires_at=timezone.now() + timedelta(minutes=10))

        # then: both say when it comes back, without a reload, instead of "sold out"
        shows(product_page, ".stock-panel [data-back-in]", "Reserved — back in 10 min")
        shows(booth, ".booth-reserved [data-back-in]", "Reserved — back in 10 min")
        assert not product_page.locator(".stock-panel .sold-out").is_visible()
        assert not booth.locator(".booth-sold-out").is_visible()
        screenshot(product_page, "reserved-product-390.png")
        screenshot(booth, "reserved-booth-1366.png")
        # a scan page opened now is told the minutes by its live feed's first message
        scan = other_phone.new_page()
        scan.clock.install()
        scan.goto(server.url + reverse("payments:scan", args=[pin.scan_code]))
        shows(scan, ".stock-panel [data-back-in]", "Reserved — back in 10 min")
        screenshot(scan, "reserved-scan-390.png")

        # and: they count down as the minutes pass
        for page in (product_page, booth, scan):
            page.clock.fast_forward("03:00")
        shows(product_page, ".stock-panel [data-back-in]", "Reserved — back in 7 min")
        shows(scan, ".stock-panel [data-back-in]", "Reserved — back in 7 min")
        shows(booth, ".booth-reserved [data-back-in]", "Reserved — back in 7 min")
        assert product_page.evaluate("window.__sameDocument === true")
    finally:
        for ctx in (phone, other_phone, board):
            ctx.close()
