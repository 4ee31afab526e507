"""Issue 9, finding 12: every page runs under a Content-Security-Policy without 'unsafe-inline', and
does everything it should (live feeds, the checkout's script, the admin) with no violation reported."""

import time

import pytest
import requests
from django.contrib.auth import get_user_model
from django.urls import reverse

from .conftest import admin_login, stocked_product

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# Runs before any page script (Playwright injects it, so the policy does not apply to it).
RECORD_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener('securitypolicyviolation',
  (e) => window.__cspViolations.push(`${e.violatedDirective} ${e.blockedURI} ${e.sourceFile}:${e.lineNumber}`));
"""


def violations(page, console: list[str]) -> list[str]:
    return page.evaluate("() => window.__cspViolations") + [m for m in console if "Content Security Policy" in m]


def wait_until(page, predicate: str, timeout: float = 15) -> None:
    """Poll a JS function from outside: wait_for_function would evaluate it in the page, which the
    policy under test forbids."""
    deadline = time.monotonic() + timeout
    while not page.evaluate(predicate):
        assert time.monotonic() < deadline, f"timed out waiting for {predicate}"
        page.wait_for_timeout(100)


LIVE = "() => document.body.getAttribute('data-live-state') === 'live'"


def test_pages_report_no_policy_violations(server, browser, store):
    tee = stocked_product(store, 7, name="Logo tee")
    checkout = requests.post(f"{server.url}/api/checkouts", timeout=30, json={
        "store": store.pk, "lines": [{"product": tee.stripe_product_id, "quantity": 1}]}).json()
    get_user_model().objects.create_user("csp-lead", password="pw-csp-lead", is_staff=True)
    context = browser.new_context(bypass_csp=False)
    context.add_init_script(RECORD_VIOLATIONS)
    try:
        page = context.new_page()
        console: list[str] = []
        page.on("console", lambda message: console.append(message.text))
        live_pages = [reverse("inventory:store_page", args=[store.pk]),
                      reverse("inventory:product_page", args=[store.pk, tee.stripe_product_id]),
                      reverse("inventory:booth_screen", args=[store.pk])]
        for path in live_pages:
            response = page.goto(server.url + path)
            policy = response.headers["content-security-policy"]
            assert "script-src 'self'" in policy and "unsafe-inline" not in policy
            wait_until(page, LIVE)  # its script ran and its WebSocket connected under the policy
            assert violations(page, console) == [], path
        for path in [reverse("inventory:store_index"), reverse("inventory:store_qr_sheet", args=[store.pk]),
                     checkout["checkout_url"].removeprefix(server.url)]:
            page.goto(server.url + path)
            page.wait_for_load_state("networkidle")
            assert violations(page, console) == [], path
        wait_until(page, "() => document.querySelector('[data-countdown]').textContent.trim() !== ''")
        admin_login(page, server, "csp-lead", "pw-csp-lead")
        page.goto(server.url + reverse("inventory:staff_dashboard"))
        wait_until(page, "() => document.querySelector('[data-dashboard]').getAttribute('data-live-state') === 'live'")
        assert violations(page, console) == [], "admin and dashboard"
    finally:
        context.close()
