"""The booth screen and the staff dashboard, live in Chromium against the real server."""

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from .conftest import admin_login, buy, screenshot, stocked_product, wait_live

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def tile(product) -> str:
    return f'[data-stock-product="{product.stripe_product_id}"]'


def tile_shows(page, product, *, count: int | None = None, sold: int, timeout: float = 5000) -> None:
    count_check = (f"t.querySelector('[data-stock-count]').textContent.trim() === '{count}'"
                   if count is not None else "t.getAttribute('data-sold-out') === 'true'")
    page.wait_for_function(
        f"""() => {{
            const t = document.querySelector('{tile(product)}');
            return {count_check} && t.querySelector('[data-sold-recently]').textContent.trim() === '{sold}';
        }}""", timeout=timeout)


def test_booth_screen_follows_sales_live(server, browser, store, webhook_url):
    # given: the booth screen on a big display
    tee = stocked_product(store, 12, name="Logo tee", low_stock_threshold=3)
    mug = stocked_product(store, 4, name="Camp mug", low_stock_threshold=3)
    tote = stocked_product(store, 1, name="Tote bag")
    stocked_product(store, 9, name="Sticker pack")
    screen = browser.new_context(viewport={"width": 1920, "height": 1080})
    try:
        page = screen.new_page()
        page.goto(server.url + reverse("inventory:booth_screen", args=[store.pk]))
        wait_live(page)
        tile_shows(page, tee, count=12, sold=0)

        # when: purchases arrive from Stripe
        buy(tee, webhook_url, quantity=2)
        buy(mug, webhook_url)
        buy(tote, webhook_url)

        # then: stock, state and "sold in the last 15 min" follow without a reload
        tile_shows(page, tee, count=10, sold=2)
        tile_shows(page, mug, count=3, sold=1)
        tile_shows(page, tote, sold=1)
        assert page.locator(f"{tile(tote)} .booth-sold-out").is_visible()
        assert not page.locator(f"{tile(tote)} .booth-stock").is_visible()
        assert page.locator(f"{tile(mug)} .booth-low").is_visible()
        assert page.evaluate("performance.getEntriesByType('navigation').length") == 1
        # large type: the stock number reads from across the room
        size = page.locator(f"{tile(tee)} [data-stock-count]").evaluate(
            "n => parseFloat(getComputedStyle(n).fontSize)")
        assert size >= 96, size
        screenshot(page, "booth.png")
    finally:
        screen.close()


def test_staff_dashboard_from_the_admin_index_updates_live(server, browser, store, webhook_url):
    # given: staff signed in through the admin, following the link on its index
    tee = stocked_product(store, 10, name="Logo tee", low_stock_threshold=3)
    mug = stocked_product(store, 4, name="Camp mug", low_stock_threshold=3)
    get_user_model().objects.create_user("booth-lead", password="pw-booth-lead", is_staff=True)
    staff = browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        page = staff.new_page()
        admin_login(page, server, "booth-lead", "pw-booth-lead")
        screenshot(page, "admin-index.png")
        page.click("text=Sales dashboard")
        page.wait_for_url(server.url + reverse("inventory:staff_dashboard"))
        page.wait_for_function("document.querySelector('[data-dashboard]').getAttribute('data-live-state') === 'live'")
        row = page.locator(f'[data-dashboard-row="{mug.pk}"]')
        assert row.locator("[data-cell=sold_today]").text_content() == "0"
        assert page.locator("[data-low-stock-empty]").is_visible() or "Camp mug" not in page.locator(
            "[data-low-stock-list]").text_content()

        # when: a sale of the mug brings it to its low-stock threshold
        buy(mug, webhook_url)

        # then: its row and the warnings follow
        page.wait_for_function(f"""() => {{
            const r = document.querySelector('[data-dashboard-row="{mug.pk}"]');
            return r.querySelector('[data-cell=available]').textContent === '3'
                && r.querySelector('[data-cell=sold_today]').textContent === '1'
                && r.querySelector('[data-cell=sold_last_hour]').textContent === '1';
        }}""", timeout=5000)
        assert row.get_attribute("data-state") == "low"
        page.locator("[data-low-stock-list]", has_text="Camp mug").wait_for(timeout=5000)
        tee_row = page.locator(f'[data-dashboard-row="{tee.pk}"]')
        assert tee_row.locator("[data-cell=sold_today]").text_content() == "0"
        screenshot(page, "dashboard.png")
    finally:
        staff.close()
