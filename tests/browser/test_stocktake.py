"""Counting a booth in Chromium, as a volunteer does: admin login, the index's link, one page of counts,
under the real Content-Security-Policy."""

import uuid
from contextlib import contextmanager
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from inventory.models import Product, StockMovement

from .conftest import admin_login, buy, off_loop, screenshot, stocked_product
from .test_content_security_policy import RECORD_VIOLATIONS, violations

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def stock_of(product) -> int:
    return Product.objects.values_list("inventory", flat=True).get(pk=product.pk)


def _hold(product, units: int) -> None:
    from inventory.services import StockLine, stock_reserve_lines

    stock_reserve_lines(lines=[StockLine(product.pk, units)], hold_ref=f"chk_{uuid.uuid4().hex[:10]}",
                        expires_at=timezone.now() + timedelta(minutes=10))


def _volunteer(store) -> None:
    from backoffice.roles import booth_staff_user_ensure

    user, _ = booth_staff_user_ensure(username="volunteer", password="pw-volunteer-1", email="volunteer@example.com")
    user.booths.add(store)  # on this booth's staff


@contextmanager
def volunteer_page(browser, server, store):
    """A volunteer of `store` logged in through the admin, under the real policy; yields the page and
    a check that returns the policy violations seen so far."""
    off_loop(_volunteer, store)
    context = browser.new_context(bypass_csp=False, viewport={"width": 1280, "height": 900})
    context.add_init_script(RECORD_VIOLATIONS)
    console: list[str] = []
    try:
        page = context.new_page()
        page.on("console", lambda message: console.append(message.text))
        admin_login(page, server, "volunteer", "pw-volunteer-1")
        yield page, lambda: violations(page, console)
    finally:
        context.close()


def test_booth_staff_count_a_booth(server, browser, store):
    # given: a booth with tees and mugs, 3 mugs held by a buyer in checkout
    tee = stocked_product(store, 10, name="Logo tee", low_stock_threshold=2)
    mug = stocked_product(store, 4, name="Camp mug", low_stock_threshold=1)
    off_loop(_hold, mug, 3)
    with volunteer_page(browser, server, store) as (page, policy_violations):
        # when: from the admin index to the booth's count page
        page.click("text=Count a booth")
        page.click(f"text={store.name}")
        page.wait_for_url(server.url + reverse("backoffice:stocktake", args=[store.pk]))
        row = page.locator(f'[data-count-row="{mug.stripe_product_id}"]')
        assert row.locator("[data-cell=held]").text_content() == "3"

        # and: 8 tees (2 damaged), but only 2 mugs, fewer than the 3 held
        page.fill(f"#counted-{tee.pk}", "8")
        page.select_option(f"select[name='reason-{tee.pk}']", "damaged")
        page.fill(f"#counted-{mug.pk}", "2")
        with page.expect_response(lambda r: r.request.method == "POST") as posted:
            page.click("input[type=submit][value='Record the count']")

        # then: refused, the mug's line says why, what was typed is still there, nothing changed
        assert posted.value.status == 409
        assert "held for buyers" in row.locator(".errorlist").text_content()
        assert page.input_value(f"#counted-{tee.pk}") == "8"
        assert page.locator(f"select[name='reason-{tee.pk}']").input_value() == "damaged"
        assert (stock_of(tee), stock_of(mug)) == (10, 4)
        screenshot(page, "stocktake-refused.png")

        # when: the mugs are counted again (the held ones too)
        page.fill(f"#counted-{mug.pk}", "4")
        page.click("input[type=submit][value='Record the count']")

        # then
        page.locator(".messagelist .success", has_text="Count recorded for 2 products").wait_for()
        assert (stock_of(tee), stock_of(mug)) == (8, 4)
        damaged = StockMovement.objects.get(product=tee, reason="damaged")
        assert (damaged.delta, damaged.actor.username) == (-2, "volunteer")
        assert page.locator(f'[data-count-row="{tee.stripe_product_id}"] [data-cell=stock]').text_content() == "8"
        assert page.input_value(f"#counted-{tee.pk}") == ""  # a fresh form for the next count
        assert policy_violations() == []
        screenshot(page, "stocktake.png")


def test_the_end_of_day_report_prints_without_the_admin_around_it(server, browser, store, webhook_url):
    tee = stocked_product(store, 10, name="Logo tee")
    mug = stocked_product(store, 4, name="Camp mug")
    buy(tee, webhook_url, quantity=3)
    buy(mug, webhook_url)
    buy(tee, webhook_url)
    with volunteer_page(browser, server, store) as (page, policy_violations):
        page.click("text=End-of-day report")
        page.select_option("#report-store", store.pk)
        page.click("input[type=submit][value='Show the report']")
        page.wait_for_url(f"{server.url}/staff/report/{store.pk}/*/")
        assert page.locator(f'[data-report-row="{tee.stripe_product_id}"] [data-cell=stock_left]').text_content() == "6"
        assert page.locator(f'[data-report-row="{tee.stripe_product_id}"] [data-cell=sold]').text_content() == "4"
        assert page.locator("svg.sales-chart polyline").count() == 2
        screenshot(page, "day-report.png")

        page.emulate_media(media="print")

        assert not page.locator("#header").is_visible() and not page.locator(".breadcrumbs").is_visible()
        assert not page.locator(".report-nav").is_visible()
        assert page.locator("svg.sales-chart").first.is_visible() and page.locator("#report-products").is_visible()
        assert policy_violations() == []
        screenshot(page, "day-report-print.png")
