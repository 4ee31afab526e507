"""Every page people open, public and staff, at a phone's 390 px and a laptop's 1366 px: nothing wider
than the screen, no serious or critical axe-core finding, and thumb-sized targets on the buyer's path."""

import json
import uuid

import pytest
from axe_playwright_python.sync_playwright import Axe
from django.urls import reverse
from django.utils import timezone

from backoffice.roles import booth_staff_user_ensure
from common.buyers import Buyer
from inventory.models import QrMode
from payments.checkout.services import CheckoutRequestLine, checkout_start
from payments.models import Order
from tests.factories import offline_link, variants_create

from .conftest import admin_login, buy, off_loop, screenshot, stocked_product

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WIDTHS = {"phone": {"width": 390, "height": 844}, "laptop": {"width": 1366, "height": 768}}
PASSWORD = "pw-volunteer-1"

# Targets a buyer taps (WCAG 2.5.5's 44 × 44 px): buttons, form controls and button-like links.
TAP_TARGETS = r"""() => Array.from(document.querySelectorAll(
    'main button, main select, main input:not([type=hidden]), main a.button, main a.pay-button, main .size-option'))
  .filter((el) => { const r = el.getBoundingClientRect(); return r.width > 0 && r.height > 0 && !el.closest('[hidden]'); })
  .map((el) => { const r = el.getBoundingClientRect();
                 return {what: el.outerHTML.slice(0, 90), width: Math.round(r.width), height: Math.round(r.height)}; })
  .filter((t) => t.width < 44 || t.height < 44)"""


@pytest.fixture
def booths(server, webhook_url, make_store):
    """Hall A sells through Payment Links (a tee in sizes, a low mug, a sold-out tote, one sale made);
    Hall B holds first (a pin, one checkout open). Everything committed, for the server to see."""
    hall_a, hall_b = make_store(name="Hall A"), make_store(name="Hall B")
    hall_b.qr_mode = QrMode.HELD_CHECKOUT
    off_loop(hall_b.save)
    tee = off_loop(lambda: variants_create(store=hall_a, sizes={"S": 4, "M": 1, "L": 6, "XL": 0}, name="Logo tee",
                                           link_at=offline_link, description="Soft organic cotton."))
    stocked_product(hall_a, 2, name="Camp mug", low_stock_threshold=3)
    tote = stocked_product(hall_a, 0, name="Tote bag")
    pin = stocked_product(hall_b, 5, name="Enamel pin")
    buy(tee["L"], webhook_url, quantity=2)
    order = Order.objects.get(lines__product=tee["L"])
    checkout = off_loop(checkout_start, lines=[CheckoutRequestLine(pin.pk, 1)],
                        buyer=Buyer(ref="browser-test", address="browser-test"))
    user = off_loop(lambda: booth_staff_user_ensure(username=f"vol-{uuid.uuid4().hex[:6]}", password=PASSWORD)[0])
    off_loop(lambda: user.booths.add(hall_a, hall_b))  # on both booths' staff
    today = timezone.localdate().isoformat()
    public = {
        "store-index": reverse("inventory:store_index"),
        "store": reverse("inventory:store_page", args=[hall_a.pk]),
        "product": reverse("inventory:product_page", args=[hall_a.pk, tee["S"].stripe_product_id]),
        "product-sold-out": reverse("inventory:product_page", args=[hall_a.pk, tote.stripe_product_id]),
        "product-held": reverse("inventory:product_page", args=[hall_b.pk, pin.stripe_product_id]),
        "scan-held": reverse("payments:scan", args=[pin.scan_code]),
        "scan-sold-out": reverse("payments:scan", args=[tote.scan_code]),
        "checkout": reverse("payments:checkout_page", args=[checkout.pk]),
        "thanks": reverse("payments:thanks", args=[hall_a.pk]) + f"?session_id={order.checkout_session_id}",
        "qr-sheet": reverse("inventory:store_qr_sheet", args=[hall_a.pk]),
        "booth": reverse("inventory:booth_screen", args=[hall_a.pk]),
    }
    staff = {
        "admin-index": reverse("admin:index"),
        "dashboard": reverse("inventory:staff_dashboard"),
        "sales": reverse("backoffice:sales"),
        "hand-over": reverse("backoffice:hand_over") + f"?code={order.receipt_code}",
        "stocktake": reverse("backoffice:stocktake", args=[hall_a.pk]),
        "transfer": reverse("backoffice:transfer") + f"?from={hall_a.pk}&to={hall_b.pk}",
        "receive": reverse("backoffice:receive", args=[hall_a.pk]),
        "stock-csv": reverse("backoffice:stock_csv"),
        "report-pick": reverse("backoffice:report_index"),
        "report": reverse("backoffice:day_report", args=[hall_a.pk, today]),
    }
    return {"public": public, "staff": staff, "user": user}


def serious_axe_findings(page) -> list[str]:
    results = Axe().run(page)
    return [f"{v['id']} ({v['impact']}): {v['help']} — {[n['target'] for n in v['nodes']][:3]}"
            for v in results.response["violations"] if v["impact"] in ("serious", "critical")]


@pytest.mark.parametrize("width", WIDTHS)
def test_every_page_fits_the_screen_and_passes_axe(server, browser, booths, width):
    context = browser.new_context(viewport=WIDTHS[width], is_mobile=width == "phone", has_touch=width == "phone")
    context.set_default_timeout(15_000)
    problems = {}
    try:
        page = context.new_page()
        page.route("https://**", lambda route: route.fulfill(status=404))  # loopback only
        admin_login(page, server, booths["user"].username, PASSWORD)
        for name, path in [*booths["public"].items(), *booths["staff"].items()]:
            response = page.goto(server.url + path)
            assert response.status < 400, (name, response.status)
            page.wait_for_load_state("load")
            found = []
            overflow = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
            if overflow[0] > overflow[1]:
                found.append(f"{overflow[0]} px wide on a {overflow[1]} px screen")
            found += serious_axe_findings(page)
            if width == "phone" and name in booths["public"] and name not in ("qr-sheet", "booth"):
                found += [f"tap target {t['width']}×{t['height']} px: {t['what']}" for t in page.evaluate(TAP_TARGETS)]
            if found:
                problems[name] = found
            screenshot(page, f"every-page-{name}-{width}.png")
    finally:
        context.close()
    assert not problems, json.dumps(problems, indent=1)
