"""Failed and stuck work on the staff dashboard: a banner per kind, with counts and the oldest,
linking to the admin's list of what failed; readable on a phone and on a laptop."""

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse
from django.utils import timezone

from common.work import work_quarantine
from payments.models import IntakeEvent, StripeJob
from payments.work.kinds import INTAKE, STRIPE_JOB

from .conftest import admin_login, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _intake(n: int, **fields) -> IntakeEvent:
    now = timezone.now()
    return IntakeEvent.objects.create(event_id=f"evt_test_banner_{n}", event_type="checkout.session.completed",
                                      kind=IntakeEvent.Kind.PURCHASE, object_id=f"cs_test_banner_{n}",
                                      event_created=now, next_attempt_at=now, **fields)


@pytest.mark.parametrize("width", [390, 1366])
def test_the_dashboard_shows_failed_and_stuck_work_and_links_to_it(server, browser, width, settings):
    # given: two events set aside, one waiting far too long, and a Stripe job set aside
    failed = [_intake(i) for i in range(2)]
    work_quarantine(INTAKE, pks=[i.pk for i in failed], reason="not applied: checkout.session.completed: "
                    "data.object.metadata: Input should be a valid dictionary, got ['store_id']")
    stuck = _intake(3)
    IntakeEvent.objects.filter(pk=stuck.pk).update(received_at=timezone.now() - timedelta(hours=1))
    job = StripeJob.objects.create(key="capture:cs_test_banner", action=StripeJob.Action.CAPTURE,
                                   intake=stuck, next_attempt_at=timezone.now())
    work_quarantine(STRIPE_JOB, pks=[job.pk], reason="Stripe refused: card_declined")
    get_user_model().objects.create_user("booth-lead", password="pw-booth-lead", is_staff=True, is_superuser=True)
    context = browser.new_context(viewport={"width": width, "height": 900})
    try:
        page = context.new_page()
        admin_login(page, server, "booth-lead", "pw-booth-lead")

        # when
        page.goto(server.url + reverse("inventory:staff_dashboard"))

        # then: one line per kind, with its counts, linking to the failed rows
        banner = page.locator(".work-problems")
        assert banner.is_visible()
        lines = [t.strip() for t in banner.locator("li").all_inner_texts()]
        assert any(line.startswith("Stripe event: 2 failed, 1 waiting over") for line in lines), lines
        assert any(line.startswith("Stripe job: 1 failed") for line in lines), lines
        screenshot(page, f"dashboard-work-banner-{width}.png")
        box = banner.bounding_box()
        assert box["x"] + box["width"] <= width  # the banner fits the screen, its links wrap
        assert banner.evaluate("b => b.scrollWidth <= b.clientWidth")
        assert all(h >= 44 for h in banner.locator("li a").evaluate_all("links => links.map(a => a.offsetHeight)"))
        banner.locator("a", has_text="Stripe event").click()
        page.wait_for_url("**/admin/payments/intakeevent/?failed=yes")
        assert "data.object.metadata" in page.content()
        screenshot(page, f"admin-failed-intake-{width}.png")
    finally:
        context.close()
