"""Our checkout: holds first, manual-capture PaymentIntents at the Stripe fake, webhooks in any order."""

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from inventory.exceptions import InsufficientStock
from inventory.models import Product, Reservation, StockMovement
from inventory.services import stock_decrease
from payments.fulfilment.checkouts import holds_release_expired
from payments.models import Checkout
from tests.live_feed import FeedListener
from tests.payments.helpers import authorise, checkout_for, intent_event, intent_status, stocked_product

pytestmark = pytest.mark.django_db(transaction=True)

CREATE_INTENT = "/v1/payment_intents"
CAPTURE = r"/v1/payment_intents/[^/]+/capture"
CANCEL = r"/v1/payment_intents/[^/]+/cancel"


def test_checkout_holds_units_and_creates_a_manual_capture_intent(stripe_fake):
    product = stocked_product(stripe_fake, 3)
    checkout = checkout_for(product, 2)
    assert checkout.status == Checkout.Status.RESERVED and checkout.client_secret
    product = Product.objects.with_availability().get(pk=product.pk)
    assert (product.inventory, product.available) == (3, 1)
    (create,) = stripe_fake.calls("POST", CREATE_INTENT)
    assert create["params"]["capture_method"] == "manual"
    assert create["idempotency_key"] == f"checkout:{checkout.pk}"
    assert create["params"]["metadata"] == {"checkout": str(checkout.pk), "store": product.store_id,
                                            "lines": f"{product.stripe_product_id}x2",
                                            "product": product.stripe_product_id, "quantity": "2"}
    assert intent_status(stripe_fake, checkout.payment_intent_id) == "requires_payment_method"


def test_two_hundred_checkouts_race_for_twenty_units(stripe_fake, settings):
    settings.STRIPE_TIMEOUT_SECONDS = 30
    product = stocked_product(stripe_fake, 20)

    def attempt(_):
        try:
            return checkout_for(product)
        except InsufficientStock as refused:
            return refused
        finally:
            connection.close()

    # 200 starts, 40 at a time: PostgreSQL's default 100 connections bound how many can run at once.
    with ThreadPoolExecutor(max_workers=40) as pool:
        results = list(pool.map(attempt, range(200)))
    started = [r for r in results if isinstance(r, Checkout)]
    refused = [r for r in results if isinstance(r, InsufficientStock)]
    assert (len(started), len(refused)) == (20, 180)
    assert all(r.shortfalls[0].available == 0 for r in refused)
    assert Reservation.objects.filter(product=product, state="held").count() == 20
    assert len(stripe_fake.calls("POST", CREATE_INTENT)) == 20  # none for a refused start
    assert Product.objects.with_availability().get(pk=product.pk).available == 0


def test_authorisation_sells_then_captures(stripe_fake, webhook, client):
    product = stocked_product(stripe_fake, 2)
    checkout = checkout_for(product)
    authorise(stripe_fake, checkout)
    event = intent_event(stripe_fake, checkout, "payment_intent.amount_capturable_updated", "requires_capture")
    assert webhook.post(client, event).status_code == 200
    checkout.refresh_from_db()
    assert checkout.status == Checkout.Status.PAID
    assert intent_status(stripe_fake, checkout.payment_intent_id) == "succeeded"
    assert StockMovement.objects.get(source=f"checkout:{checkout.pk}").delta == -1
    assert Reservation.objects.get(hold_ref=str(checkout.pk)).state == "sold"
    product = Product.objects.with_availability().get(pk=product.pk)
    assert (product.inventory, product.available) == (1, 1)


def test_events_twice_and_out_of_order_end_in_one_sale_and_one_capture(stripe_fake, webhook, client):
    product = stocked_product(stripe_fake, 2)
    checkout = checkout_for(product)
    authorise(stripe_fake, checkout)
    succeeded = intent_event(stripe_fake, checkout, "payment_intent.succeeded", "succeeded")
    authorised = intent_event(stripe_fake, checkout, "payment_intent.amount_capturable_updated",
                               "requires_capture")
    for event in (succeeded, authorised, authorised, succeeded):
        assert webhook.post(client, event).status_code == 200
    checkout.refresh_from_db()
    assert checkout.status == Checkout.Status.PAID
    assert StockMovement.objects.filter(source=f"checkout:{checkout.pk}").count() == 1
    assert len([c for c in stripe_fake.calls("POST", CAPTURE) if c["status"] == 200]) == 1
    assert Product.objects.get(pk=product.pk).inventory == 1


def test_failed_payment_releases_the_hold(stripe_fake, webhook, client):
    product = stocked_product(stripe_fake, 1)
    checkout = checkout_for(product)
    assert Product.objects.with_availability().get(pk=product.pk).available == 0
    event = intent_event(stripe_fake, checkout, "payment_intent.payment_failed", "requires_payment_method")
    assert webhook.post(client, event).status_code == 200
    checkout.refresh_from_db()
    assert checkout.status == Checkout.Status.FAILED
    assert Product.objects.with_availability().get(pk=product.pk).available == 1


def test_expired_hold_is_released_and_broadcast(stripe_fake):
    product = stocked_product(stripe_fake, 1)
    checkout = checkout_for(product)
    feed = FeedListener(f"/ws/stock/{product.store_id}/{product.stripe_product_id}/")
    try:
        assert feed.connect()[0]
        assert feed.receive()["available"] == 0
        Reservation.objects.filter(hold_ref=str(checkout.pk)).update(expires_at=timezone.now() - timedelta(seconds=1))
        assert holds_release_expired() == [str(checkout.pk)]
        assert feed.receive_until(lambda m: m["available"] == 1)["sold_out"] is False
    finally:
        feed.close()
    checkout.refresh_from_db()
    assert checkout.status == Checkout.Status.EXPIRED


@pytest.mark.parametrize("stock_taken, expected, intent_after", [
    (False, Checkout.Status.PAID, "succeeded"),
    (True, Checkout.Status.CANCELLED, "canceled"),
])
def test_late_authorisation_after_expiry(stripe_fake, webhook, client, stock_taken, expected, intent_after):
    product = stocked_product(stripe_fake, 1)
    checkout = checkout_for(product)
    Reservation.objects.filter(hold_ref=str(checkout.pk)).update(expires_at=timezone.now() - timedelta(seconds=1))
    holds_release_expired()
    if stock_taken:
        stock_decrease(product=product, quantity=1, source="booth-sale")
    authorise(stripe_fake, checkout)
    event = intent_event(stripe_fake, checkout, "payment_intent.amount_capturable_updated", "requires_capture")
    assert webhook.post(client, event).status_code == 200
    checkout.refresh_from_db()
    assert checkout.status == expected
    assert intent_status(stripe_fake, checkout.payment_intent_id) == intent_after
    assert Product.objects.get(pk=product.pk).inventory == 0
    assert len(stripe_fake.calls("POST", CAPTURE)) == (0 if stock_taken else 1)
