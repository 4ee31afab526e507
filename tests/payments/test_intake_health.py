"""Issue 21: the staff dashboard's line on how events arrive, and its warning when webhooks stop."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from djstripe.models import Event

from payments.intake.events import stripe_event_store
from payments.intake.selectors import intake_health
from payments.models import CatchUpRun, CaughtUpEvent
from tests.fakes.stripe import events

pytestmark = pytest.mark.django_db


def _caught_up(*, minutes_ago: int) -> CatchUpRun:
    created = timezone.now() - timedelta(minutes=minutes_ago)
    event = stripe_event_store(data=events.checkout_session_completed(
        session_id=f"cs_test_h{minutes_ago}", payment_intent=None, created=int(created.timestamp())))
    run = CatchUpRun.objects.create(trigger=CatchUpRun.Trigger.PERIODIC, since=created, until=timezone.now(),
                                    found=1, fed=1, newest_fed_created=event.created, finished_at=timezone.now())
    CaughtUpEvent.objects.create(event_id=event.id, run=run)
    return run


def test_nothing_yet():
    health = intake_health()
    assert (health.last_webhook_at, health.last_catch_up, health.webhooks_stopped) == (None, None, False)


def test_webhooks_that_stopped_while_catch_up_finds_events_are_warned_of(webhook, client):
    delivered = events.checkout_session_completed(session_id="cs_test_w", payment_intent=None)
    assert webhook.post(client, delivered).status_code == 200
    Event.objects.filter(id=delivered["id"]).update(djstripe_created=timezone.now() - timedelta(minutes=5))
    arrived = intake_health().last_webhook_at
    assert arrived is not None and intake_health().webhooks_stopped is False
    # Catch-up then feeds an event Stripe created after that webhook arrived: it was never delivered.
    run = _caught_up(minutes_ago=1)
    health = intake_health()
    assert health.last_webhook_at == arrived  # an event fed by catch-up is no webhook
    assert health.last_catch_up == run and health.webhooks_stopped is True
    # A webhook arriving again clears the warning.
    assert webhook.post(client, events.checkout_session_completed(session_id="cs_test_w2",
                                                                  payment_intent=None)).status_code == 200
    assert intake_health().webhooks_stopped is False


def test_the_dashboard_shows_the_line_and_the_warning(client, django_user_model):
    run = _caught_up(minutes_ago=3)
    client.force_login(django_user_model.objects.create_superuser("boss", "boss@example.com", "pw"))
    page = client.get(reverse("inventory:staff_dashboard")).content.decode()
    assert "Webhooks have stopped" in page
    assert "Last webhook:" in page and "none yet" in page
    assert "found 1 event," in page and "1 of them missing and fed" in page
    for url in ["/admin/payments/catchuprun/", f"/admin/payments/catchuprun/{run.pk}/change/"]:
        assert client.get(url).status_code == 200, url
