"""Live stock as people see it: real pages in Chromium, fed by the real ASGI server over WebSockets.

Purchases arrive as Stripe would send them (a signed checkout.session.completed posted to the
server's webhook URL); the server fulfils them in-process and broadcasts through Redis.
"""

import time
import uuid

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from inventory.models import Product
from inventory.services import stock_set

from .conftest import admin_login, buy, off_loop, screenshot, stocked_product, wait_live

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

COUNT = "[data-stock-product] [data-stock-count]"


def product_url(server, product) -> str:
    return server.url + reverse("inventory:product_page", args=[product.store_id, product.stripe_product_id])


def count_is(n: int) -> str:
    return f"document.querySelector('{COUNT}').textContent.trim() === '{n}'"


def watch_count(page) -> None:
    """Record (wall clock, ms) when the page's stock number next changes."""
    page.evaluate("""() => {
        const node = document.querySelector('%s');
        window.__stockChangedAt = null;
        new MutationObserver(() => { window.__stockChangedAt ??= Date.now(); })
            .observe(node, {childList: true, characterData: true, subtree: true});
    }""" % COUNT)


def test_a_purchase_reaches_every_open_page_within_a_second(server, browser, context, store, webhook_url):
    # given: two people with the product page open
    product = stocked_product(store, 5, name="Enamel pin")
    other = browser.new_context(viewport={"width": 390, "height": 844})
    pages = [context.new_page(), other.new_page()]
    try:
        for page in pages:
            page.goto(product_url(server, product))
            wait_live(page)
            page.wait_for_function(count_is(5))
            watch_count(page)
        screenshot(pages[0], "product-in-stock.png")
        announcer = pages[0].locator("[data-live-announcer]")
        announced_before = announcer.text_content()

        # when: Stripe delivers a completed checkout for one unit
        posted_at = time.time()
        buy(product, webhook_url)
        returned_at = time.time()

        # then: both pages show 4 within a second of the POST returning, without a reload
        deadline = returned_at + 1.0
        for page in pages:
            page.wait_for_function(count_is(4), timeout=max(1.0, (deadline - time.time()) * 1000))
        seen = [page.evaluate("window.__stockChangedAt") / 1000 for page in pages]
        print(f"\nwebhook POST took {(returned_at - posted_at) * 1000:.0f} ms; pages updated "
              + ", ".join(f"{(t - posted_at) * 1000:.0f} ms after it was sent" for t in seen))
        assert all(t - returned_at <= 1.0 for t in seen)
        assert all(p.evaluate("performance.getEntriesByType('navigation').length") == 1 for p in pages)  # no reload

        # and: the change is announced through the polite live region
        pages[0].wait_for_function(
            "document.querySelector('[data-live-announcer]').textContent.includes('Enamel pin: 4 left')",
            timeout=3000)
        assert announcer.get_attribute("aria-live") == "polite"
        assert announcer.text_content() != announced_before
    finally:
        other.close()


def test_last_unit_sold_turns_the_page_sold_out_and_an_admin_restock_brings_it_back(server, browser, context,
                                                                                     store, webhook_url):
    # given: one unit left, the page open and payable
    product = stocked_product(store, 1, name="Tote bag")
    page = context.new_page()
    page.goto(product_url(server, product))
    wait_live(page)
    page.wait_for_function(count_is(1))
    pay = page.locator("section.pay")
    assert pay.is_visible() and page.locator(".qr-code svg").is_visible()

    # when: the last unit sells
    buy(product, webhook_url)

    # then: sold out, and the payable QR code is gone
    page.locator(".sold-out").wait_for(state="visible", timeout=3000)
    pay.wait_for(state="hidden", timeout=3000)
    assert not page.locator(".qr-code svg").is_visible()
    assert page.locator("[data-stock-product]").get_attribute("data-sold-out") == "true"
    screenshot(page, "product-sold-out.png")

    # when: staff restock in the admin's product list (list-editable stock), through the login form
    get_user_model().objects.create_superuser("browser-admin", "admin@example.com", "pw-browser-admin")
    admin = browser.new_context()
    try:
        staff_page = admin.new_page()
        admin_login(staff_page, server, "browser-admin", "pw-browser-admin")
        staff_page.goto(server.url + reverse("admin:inventory_product_changelist")
                        + f"?store__id__exact={store.pk}")
        row = staff_page.locator("#result_list tbody tr", has_text="Tote bag")
        row.locator("input[type=number][name$='-inventory']").fill("6")
        staff_page.click("input[name=_save]")
        staff_page.locator(".messagelist").wait_for(timeout=10_000)

        # then: the open product page is live again, payable, without a reload
        page.wait_for_function(count_is(6), timeout=5000)
        page.locator(".sold-out").wait_for(state="hidden", timeout=5000)
        pay.wait_for(state="visible", timeout=10_000)  # once the Payment Link is switched back on
        assert page.locator(".qr-code svg").is_visible()
        screenshot(page, "product-restocked.png")
        assert Product.objects.get(pk=product.pk).inventory == 6
    finally:
        admin.close()


def test_page_reconnects_after_a_server_restart_and_shows_current_stock(server, context, store):
    # given: a live page showing 5
    product = stocked_product(store, 5, name="Sticker pack")
    page = context.new_page()
    page.goto(product_url(server, product))
    wait_live(page)
    page.wait_for_function(count_is(5))

    # when: the server dies, stock changes while it is down, and it comes back on the same port
    server.kill()
    page.wait_for_function("document.body.getAttribute('data-live-state') === 'reconnecting'", timeout=10_000)
    assert page.locator("[data-live-status-text]").text_content() == "reconnecting…"
    off_loop(stock_set, product=product, level=2, source=f"count:{uuid.uuid4()}")  # its broadcast reaches no one
    screenshot(page, "reconnecting.png")
    time.sleep(1)
    server.start()

    # then: the page reconnects by itself and shows the current stock, not the stale 5
    wait_live(page, timeout=30_000)
    page.wait_for_function(count_is(2), timeout=5000)
    assert page.locator("[data-live-status-text]").text_content() == "live"
    assert page.evaluate("performance.getEntriesByType('navigation').length") == 1
    screenshot(page, "reconnected.png")


def test_checkout_clicked_through_offline_ends_paid(server, context, store, webhook_url):
    start_url = reverse("payments:checkout_start")
    # given
    product = stocked_product(store, 3, name="Water bottle")
    page = context.new_page()
    page.goto(product_url(server, product))
    wait_live(page)

    # when: the buyer takes the quiet second way, "hold it first and pay on this page"
    page.get_by_text("Or hold it first and pay on this page").click()
    page.locator(f"form[action='{start_url}'] [type=submit]").click()
    page.wait_for_url("**/checkout/*/")
    assert page.locator("[data-status-box]").get_attribute("data-status") == "reserved"
    screenshot(page, "checkout-reserved.png")
    page.select_option("select[name=card]", "pm_card_visa")
    page.locator("[data-offline-form] [type=submit]").click()

    # then: paid, and the unit left the stock
    page.wait_for_function("document.querySelector('[data-status-box]').getAttribute('data-status') === 'paid'",
                           timeout=15_000)
    assert page.locator("[data-status-box]").inner_text().startswith("Paid")
    screenshot(page, "checkout-paid.png")
    product.refresh_from_db()
    assert product.inventory == 2


def test_a_late_arriving_older_snapshot_does_not_overwrite_newer_stock(server, context, store):
    # given: a page showing 5
    from asgiref.sync import async_to_sync
    from channels.layers import get_channel_layer

    from inventory.broadcast import product_group
    from inventory.selectors import stock_snapshot

    product = stocked_product(store, 5, name="Lanyard")
    page = context.new_page()
    page.goto(product_url(server, product))
    wait_live(page)
    page.wait_for_function(count_is(5))
    group = product_group(product.store_id, product.stripe_product_id)

    def publish(**changes):
        snapshot = stock_snapshot(product_id=product.pk)
        # A product without sizes: its totals (what the product's page shows) are its one variant's.
        family = {**snapshot["family"], **{k: v for k, v in changes.items() if k in snapshot["family"]}}
        message = {"type": "stock.updated", **snapshot, **changes, "family": family}
        async_to_sync(get_channel_layer().group_send)(group, message)

    # when: a snapshot read a minute ago (stock 9) arrives after the current one
    off_loop(publish, inventory=9, available=9, as_of=time.time() - 60)
    off_loop(publish, inventory=3, available=3)  # and then a fresh one
    # then: the stale one was skipped, the fresh one shown
    page.wait_for_function(count_is(3), timeout=3000)
    off_loop(publish, inventory=9, available=9, as_of=time.time() - 60)
    page.wait_for_timeout(500)
    assert page.locator(COUNT).inner_text().strip() == "3"


def test_checkout_feed_of_an_unknown_checkout_ends_with_4404_instead_of_retrying(server, context, store):
    """The checkout feed accepts, then closes with 4404: the browser sees a final close (the page
    stops), not a failed handshake that it would retry for ever."""
    # given: a checkout page, with the one live-feed module every page uses
    product = stocked_product(store, 3, name="Enamel pin")
    page = context.new_page()
    page.goto(product_url(server, product))
    page.get_by_text("Or hold it first and pay on this page").click()
    page.locator(f"form[action='{reverse('payments:checkout_start')}'] [type=submit]").click()
    page.wait_for_url("**/checkout/*/")

    # when: the page opens the feed of a checkout that does not exist
    page.evaluate("""path => {
        window.__states = [];
        swagstore.openFeed(path, {onState: s => window.__states.push(s)});
    }""", f"/ws/checkout/{uuid.uuid4()}/")

    # then: it ends offline at once, and stays there
    page.wait_for_function("window.__states.includes('offline')", timeout=5000)
    page.wait_for_timeout(1500)
    states = page.evaluate("window.__states")
    assert states[0] == "connecting" and states[-1] == "offline" and "reconnecting" not in states
