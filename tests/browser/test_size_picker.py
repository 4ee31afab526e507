"""Sizes in Chromium: the size picker switches at once, shows stock per size, and a size that sells
out is disabled live while the others stay on sale (issue 11)."""

import uuid

import pytest
from django.urls import reverse

from .conftest import buy, screenshot, stocked_product, wait_live

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def sized_tee(store, server, sizes: dict[str, int]) -> dict:
    product_id = f"prod_Pick{uuid.uuid4().hex[:8]}"
    return {size: stocked_product(store, stock, name="Festival tee", stripe_product_id=product_id,
                                  stripe_price_id=f"price_{product_id[5:]}{size}", size=size,
                                  image_url=server.url + "/static/demo/tee.svg")
            for size, stock in sizes.items()}


def option(page, product):
    return page.locator(f'label.variant-option[data-stock-variant="{product.pk}"]')


def test_size_picker_switches_sizes_and_a_sold_out_size_is_disabled_live(server, browser, store, webhook_url):
    # given: a tee in S, M (the last one) and L, its page open on a phone
    tee = sized_tee(store, server, {"S": 3, "M": 1, "L": 2})
    context = browser.new_context(viewport={"width": 390, "height": 844}, device_scale_factor=2, is_mobile=True,
                                  has_touch=True)
    try:
        page = context.new_page()
        page.goto(server.url + reverse("inventory:product_page", args=[store.pk, tee["S"].stripe_product_id]))
        wait_live(page)
        picture = page.locator(".product-media img")
        assert picture.get_attribute("alt") == "Festival tee"
        assert page.evaluate("document.querySelector('.product-media img').naturalWidth") > 0
        assert page.locator("[data-variant-picker-submit]").is_hidden()  # JavaScript switches at once
        assert option(page, tee["M"]).locator("[data-stock-count]").inner_text() == "1"

        # when: the buyer picks M
        option(page, tee["M"]).click()

        # then: M's panel, price and Payment Link show, and the address says which size
        m_panel = page.locator(f'[data-variant-panel="{tee["M"].stripe_price_id}"]')
        m_panel.wait_for(state="visible")
        assert page.locator(f'[data-variant-panel="{tee["S"].stripe_price_id}"]').is_hidden()
        assert m_panel.locator("a.pay-button").get_attribute("href") == tee["M"].payment_link_url
        assert f"price={tee['M'].stripe_price_id}" in page.url
        screenshot(page, "size-picker-phone.png")

        # when: someone else buys the last M
        buy(tee["M"], webhook_url)

        # then: M is disabled and marked sold out, live; its panel says so and offers the waitlist
        page.wait_for_function(
            f"document.querySelector('label.variant-option[data-stock-variant=\"{tee['M'].pk}\"] input').disabled",
            timeout=5000)
        assert option(page, tee["M"]).get_attribute("data-sold-out") == "true"
        assert option(page, tee["M"]).locator(".variant-gone[data-show-when='sold-out']").is_visible()
        m_panel.locator(".sold-out").wait_for(state="visible", timeout=5000)
        assert m_panel.locator("form.waitlist").is_visible()
        assert m_panel.locator("section.pay").is_hidden()
        # the other sizes stay on sale, and the product's total follows
        assert not page.locator(f'label.variant-option[data-stock-variant="{tee["S"].pk}"] input').is_disabled()
        assert page.locator("article.product").get_attribute("data-available") == "5"
        assert page.locator("article.product > .product-body > .sold-out").is_hidden()
        page.wait_for_function(
            "document.querySelector('[data-live-announcer]').textContent.includes('Festival tee (M) is sold out')",
            timeout=3000)
        screenshot(page, "size-picker-sold-out-size.png")

        # and: picking S again shows S, still payable
        option(page, tee["S"]).click()
        s_panel = page.locator(f'[data-variant-panel="{tee["S"].stripe_price_id}"]')
        s_panel.wait_for(state="visible")
        assert s_panel.locator("section.pay").is_visible()
    finally:
        context.close()


def test_store_page_marks_a_size_sold_out_live(server, context, store, webhook_url):
    tee = sized_tee(store, server, {"S": 2, "M": 1})
    page = context.new_page()
    page.goto(server.url + reverse("inventory:store_page", args=[store.pk]))
    wait_live(page)
    chip = page.locator(f'li.variant-chip[data-stock-variant="{tee["M"].pk}"]')
    assert chip.get_attribute("data-sold-out") == "false"
    assert page.locator(".card-media img").get_attribute("alt") == ""  # the card's name is right below it

    buy(tee["M"], webhook_url)

    page.wait_for_function(
        f"document.querySelector('li.variant-chip[data-stock-variant=\"{tee['M'].pk}\"]')"
        ".getAttribute('data-sold-out') === 'true'", timeout=5000)
    card = page.locator(f'li.product-card[data-stock-product="{tee["M"].stripe_product_id}"]')
    assert card.locator(".card-stock [data-stock-count]").inner_text() == "2"
    assert card.get_attribute("data-sold-out") == "false"
