"""The periodic sweeper: lapsed holds, sold-but-uncaptured payments, authorisations near lapse."""

from datetime import timedelta

import pytest
from django.utils import timezone

from inventory.models import Product, Reservation
from payments.models import Checkout, StripeJob
from payments.tasks import checkouts_sweep, durable_work_sweep
from tests.payments.helpers import authorise, checkout_for, intent_event, intent_status, stocked_product

CAPTURE = r"/v1/payment_intents/[^/]+/capture"

pytestmark = pytest.mark.django_db(transaction=True)


def test_sweeper_captures_a_sale_whose_capture_kept_failing(stripe_fake, webhook, client):
    product = stocked_product(stripe_fake, 2)
    checkout = checkout_for(product)
    authorise(stripe_fake, checkout)
    stripe_fake.fail_next("POST", CAPTURE, status=503, times=9)  # the first try and all 8 retries
    event = intent_event(stripe_fake, checkout, "payment_intent.amount_capturable_updated", "requires_capture")
    assert webhook.post(client, event).status_code == 200
    checkout.refresh_from_db()
    assert checkout.status == Checkout.Status.AUTHORISED  # sold, stock taken, money not yet captured
    job = StripeJob.objects.get(checkout=checkout, action=StripeJob.Action.CAPTURE)
    assert job.state == StripeJob.State.PENDING  # parked after the fast attempts, kept
    StripeJob.objects.filter(pk=job.pk).update(next_attempt_at=timezone.now() - timedelta(minutes=5))  # time passes

    durable_work_sweep.delay()

    checkout.refresh_from_db()
    assert checkout.status == Checkout.Status.PAID
    assert intent_status(stripe_fake, checkout.payment_intent_id) == "succeeded"
    assert Product.objects.get(pk=product.pk).inventory == 1


def test_sweeper_cancels_an_authorisation_that_would_outlive_its_window(stripe_fake):
    product = stocked_product(stripe_fake, 1)
    checkout = checkout_for(product)
    authorise(stripe_fake, checkout)  # authorised, but the event never reached us
    Checkout.objects.filter(pk=checkout.pk).update(created_at=timezone.now() - timedelta(days=6, hours=12))

    checkouts_sweep.delay()

    checkout.refresh_from_db()
    assert checkout.status == Checkout.Status.CANCELLED
    assert intent_status(stripe_fake, checkout.payment_intent_id) == "canceled"
    assert Product.objects.with_availability().get(pk=product.pk).available == 1  # the hold went back too


def test_sweeper_releases_lapsed_holds(stripe_fake):
    product = stocked_product(stripe_fake, 1)
    checkout = checkout_for(product)
    Reservation.objects.filter(hold_ref=str(checkout.pk)).update(expires_at=timezone.now() - timedelta(seconds=1))

    checkouts_sweep.delay()

    checkout.refresh_from_db()
    assert checkout.status == Checkout.Status.EXPIRED
    assert Reservation.objects.get(hold_ref=str(checkout.pk)).state == "released"
