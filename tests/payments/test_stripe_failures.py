"""Stripe failing (5xx, 429, timeouts) is retried with backoff; money moves back exactly once."""

import pytest

from inventory.models import Product
from datetime import timedelta

from django.core import mail
from django.urls import reverse
from django.utils import timezone

from payments.models import IntakeEvent, Order, StripeCall, StripeJob
from tests.payments.helpers import intent_status, purchase, stocked_product

pytestmark = pytest.mark.django_db(transaction=True)

LINE_ITEMS = r"/v1/checkout/sessions/[^/]+/line_items"
REFUNDS = "/v1/refunds"
CANCEL = r"/v1/payment_intents/[^/]+/cancel"


def _order(event) -> Order:
    return Order.objects.get(checkout_session_id=event["data"]["object"]["id"])


def test_line_items_5xx_is_retried_then_fulfilled(stripe_fake, webhook, client):
    product = stocked_product(stripe_fake, 2)
    event = purchase(stripe_fake, product, via_link=False)  # the session alone cannot tell what was bought
    stripe_fake.fail_next("GET", LINE_ITEMS, status=500, times=2)
    assert webhook.post(client, event).status_code == 200
    assert _order(event).status == Order.Status.FULFILLED
    assert len(stripe_fake.calls("GET", LINE_ITEMS)) == 3
    assert Product.objects.get(pk=product.pk).inventory == 1


@pytest.mark.parametrize("status", [429, 500, 503])
def test_refund_failure_is_retried_with_the_same_key_and_refunds_once(stripe_fake, webhook, client, status):
    product = stocked_product(stripe_fake, 0)
    event = purchase(stripe_fake, product, capture="automatic")
    stripe_fake.fail_next("POST", REFUNDS, status=status, times=2)
    assert webhook.post(client, event).status_code == 200
    order = _order(event)
    assert order.status == Order.Status.REFUNDED
    attempts = stripe_fake.calls("POST", REFUNDS)
    assert [a["status"] for a in attempts] == [status, status, 200]
    assert {a["idempotency_key"] for a in attempts} == {f"refund:{order.checkout_session_id}"}
    refunds = stripe_fake.sdk_client().v1.refunds.list({"payment_intent": order.payment_intent_id})
    assert [r.id for r in refunds] == [order.refund_id]


def test_refund_timeout_after_stripe_acted_is_replayed_not_repeated(stripe_fake, webhook, client):
    # Stripe refunds, but the answer is lost (our 2 s timeout): the retry must not refund again.
    product = stocked_product(stripe_fake, 0)
    event = purchase(stripe_fake, product, capture="automatic")
    stripe_fake.stall_next("POST", REFUNDS, seconds=3)
    assert webhook.post(client, event).status_code == 200
    order = _order(event)
    assert order.status == Order.Status.REFUNDED
    attempts = stripe_fake.calls("POST", REFUNDS)
    assert len(attempts) == 2 and attempts[1]["replayed"] is True
    refunds = stripe_fake.sdk_client().v1.refunds.list({"payment_intent": order.payment_intent_id})
    assert len(refunds.data) == 1
    assert StripeCall.objects.filter(operation="refund.create", outcome__startswith="unavailable").count() == 1


def test_cancel_5xx_is_retried_and_cancels_once(stripe_fake, webhook, client):
    product = stocked_product(stripe_fake, 0)
    event = purchase(stripe_fake, product, capture="manual")
    stripe_fake.fail_next("POST", CANCEL, status=502, times=1)
    assert webhook.post(client, event).status_code == 200
    order = _order(event)
    assert order.status == Order.Status.CANCELLED
    assert [a["status"] for a in stripe_fake.calls("POST", CANCEL)] == [502, 200]
    assert intent_status(stripe_fake, order.payment_intent_id) == "canceled"


def test_retries_back_off_when_stripe_stays_down_and_the_work_is_kept(stripe_fake, webhook, client):
    product = stocked_product(stripe_fake, 2)
    event = purchase(stripe_fake, product, via_link=False)
    stripe_fake.fail_next("GET", LINE_ITEMS, status=500, times=None)
    assert webhook.post(client, event).status_code == 200  # stored; the job backs off
    assert len(stripe_fake.calls("GET", LINE_ITEMS)) == 9  # the fast attempts (test settings: no delay)
    assert not Order.objects.exists()
    assert Product.objects.get(pk=product.pk).inventory == 2
    job = StripeJob.objects.get(key=f"line_items:{event['data']['object']['id']}")
    # then: parked at the slowest pace, never dropped
    assert job.state == StripeJob.State.PENDING and job.next_attempt_at > timezone.now() + timedelta(minutes=30)
    assert IntakeEvent.objects.get(event_id=event["id"]).state == IntakeEvent.State.AWAITING_LINES


def test_a_refusal_is_not_retried(stripe_fake, webhook, client):
    product = stocked_product(stripe_fake, 0)
    event = purchase(stripe_fake, product, capture="automatic")
    stripe_fake.fail_next("POST", REFUNDS, status=400, times=1, code="parameter_invalid")
    assert webhook.post(client, event).status_code == 200
    assert len(stripe_fake.calls("POST", REFUNDS)) == 1
    assert _order(event).status == Order.Status.OVERSOLD  # left for staff, visible in admin


def test_a_refund_that_keeps_failing_is_set_aside_after_its_tries_then_retried_by_staff_once(
        stripe_fake, webhook, client, settings, admin_client):
    # given: Stripe answers every refund with 503, and a job gets 3 tries
    settings.STRIPE_MAX_ATTEMPTS = 3
    settings.LOW_STOCK_ALERT_EMAILS = ["booth-lead@example.com"]
    mail.outbox = []
    product = stocked_product(stripe_fake, 0)
    event = purchase(stripe_fake, product, capture="automatic")
    stripe_fake.fail_next("POST", REFUNDS, status=503, times=None)

    # when
    assert webhook.post(client, event).status_code == 200

    # then: three tries, each recorded, then set aside with its reason; staff told once
    job = StripeJob.objects.get(action=StripeJob.Action.GIVE_BACK)
    assert (job.state, job.attempts) == (StripeJob.State.FAILED, 3) and job.failed_at is not None
    assert job.last_error.startswith("gave up after 3 tries:")
    assert len(stripe_fake.calls("POST", REFUNDS)) == 3
    assert [m.subject for m in mail.outbox] == [f"Set aside: Stripe job {job.key}"]

    # when: Stripe is back and staff retry it (twice: the retry is idempotent)
    stripe_fake.clear_faults()
    for _ in range(2):
        admin_client.post(reverse("admin:payments_stripejob_changelist"),
                          {"action": "retry_work", "_selected_action": [job.pk]})

    # then: refunded once
    job.refresh_from_db()
    assert job.state == StripeJob.State.DONE and job.failed_at is None
    assert _order(event).status == Order.Status.REFUNDED
    assert [c["status"] for c in stripe_fake.calls("POST", REFUNDS)] == [503, 503, 503, 200]
