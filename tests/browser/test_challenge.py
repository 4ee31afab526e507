"""Issue 19: past its address's free rate a buyer's phone solves a small proof of work (the vendored
ALTCHA widget) when pressing the button, under our Content-Security-Policy, and goes on to pay."""

import pytest
from django.urls import reverse

from inventory.models import QrMode

from .conftest import DaphneServer, off_loop, screenshot, stocked_product
from .test_content_security_policy import RECORD_VIOLATIONS, violations

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def busy_network_server(transactional_db, tmp_path):
    """The app as if this address had used up its free rate already: every hold needs the challenge."""
    daphne = DaphneServer(tmp_path / "daphne.log")
    daphne.env |= {"CHECKOUT_STARTS_PER_ADDRESS": "0", "CHECKOUT_CHALLENGE_COST": "1000"}
    daphne.start()
    try:
        yield daphne
    finally:
        daphne.stop()


@pytest.mark.parametrize("width, height", [(390, 844), (1366, 900)])
def test_a_busy_network_solves_the_challenge_and_goes_on_to_pay(busy_network_server, browser, store, width, height):
    store.qr_mode = QrMode.HELD_CHECKOUT
    off_loop(store.save)
    pin = stocked_product(store, 5, name="Enamel pin")
    context = browser.new_context(bypass_csp=False, viewport={"width": width, "height": height})
    context.add_init_script(RECORD_VIOLATIONS)
    try:
        page = context.new_page()
        console: list[str] = []
        page.on("console", lambda message: console.append(message.text))
        page.goto(busy_network_server.url + reverse("payments:scan", args=[pin.scan_code]))
        page.get_by_role("button", name="Hold and pay with Stripe").click()
        page.locator("altcha-widget").wait_for()
        assert page.get_by_text("Many checkouts are being started from your network").is_visible()
        assert page.evaluate("() => document.documentElement.scrollWidth") <= width  # nothing wider than the phone
        screenshot(page, f"held-checkout-challenge-{width}.png")

        page.get_by_role("button", name="Hold and pay with Stripe").click()  # the widget solves, then submits
        page.wait_for_url("**/offline/checkout/**", timeout=60_000)
        assert violations(page, console) == []
    finally:
        context.close()
