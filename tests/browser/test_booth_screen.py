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


# Where each shown tile, and the stock number inside it, sits against the viewport and the tile.
TILES_ON_SCREEN = """() => {
    const view = {w: window.innerWidth, h: window.innerHeight};
    const inside = (r, box) => r.left >= box.left - 0.5 && r.top >= box.top - 0.5
        && r.right <= box.right + 0.5 && r.bottom <= box.bottom + 0.5 && r.width > 0 && r.height > 0;
    const screen = {left: 0, top: 0, right: view.w, bottom: view.h};
    const tiles = [...document.querySelectorAll('.booth-tile')].filter(t => !t.hidden);
    return {
        shown: tiles.map(t => t.getAttribute('data-stock-variant')),
        offScreen: tiles.filter(t => !inside(t.getBoundingClientRect(), screen)).map(t => t.textContent.trim().slice(0, 40)),
        clipped: tiles.filter(t => [...t.querySelectorAll('.booth-name, .booth-stock, .booth-sold-out, .booth-sales')]
            .filter(n => !n.hidden).some(n => !inside(n.getBoundingClientRect(), t.getBoundingClientRect())))
            .map(t => t.textContent.trim().slice(0, 40)),
        scrolls: document.documentElement.scrollHeight > view.h || document.documentElement.scrollWidth > view.w,
        page: document.querySelector('[data-booth-board]').getAttribute('data-page'),
        pages: Number(document.querySelector('[data-booth-board]').getAttribute('data-pages')),
    };
}"""


@pytest.mark.parametrize("width,height,products,paged", [
    (1366, 768, 5, False), (1920, 1080, 8, False),  # two rows, scaled to fit
    (1366, 768, 14, True), (1920, 1080, 24, True),  # too many to read on one screen: pages
])
def test_booth_board_shows_every_tile_without_scrolling(server, browser, store, width, height, products, paged):
    # given: more products than one row holds (and, for the bigger counts, than one screen holds)
    made = [stocked_product(store, 3 + i, name=f"Conference hoodie, organic cotton {i}" if i % 3 == 0 else f"Mug {i}",
                            low_stock_threshold=4, size="XL" if i % 2 else "")
            for i in range(products)]
    screen = browser.new_context(viewport={"width": width, "height": height})
    try:
        page = screen.new_page()
        page.clock.install()
        page.goto(server.url + reverse("inventory:booth_screen", args=[store.pk]))
        page.wait_for_selector("[data-booth-board][data-fitted]")

        # when: the board has turned through all its pages
        seen: set[str] = set()
        first = page.evaluate(TILES_ON_SCREEN)
        for turn in range(max(first["pages"], 1)):
            state = page.evaluate(TILES_ON_SCREEN)
            # then: every tile shown is whole, on screen, with its name, number and sales inside it
            assert not state["scrolls"], (width, height, state)
            assert state["offScreen"] == [], state
            assert state["clipped"] == [], state
            seen.update(state["shown"])
            screenshot(page, f"booth-{width}x{height}-{products}-page{turn + 1}.png")
            page.clock.fast_forward(8_100)
            page.wait_for_function(f"document.querySelector('[data-booth-board]').getAttribute('data-page') "
                                   f"!== '{state['page']}' || {state['pages']} === 1")
        # and every product appeared on some page; one screen was enough while it could be
        assert seen == {str(p.pk) for p in made}
        assert (first["pages"] > 1) == paged, first
        if first["pages"] > 1:
            assert page.locator("[data-booth-page]").text_content().startswith("Page ")
    finally:
        screen.close()
