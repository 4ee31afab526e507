"""Held checkout (issue 10) against the Stripe fake: the live gateway's every request is checked
against Stripe's OpenAPI spec (a request the spec refuses fails the test), and the fake answers with
Stripe's shapes and errors (expiring a session that is no longer open is an error)."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from inventory.models import Product, QrMode
from payments.checkout.session_params import held_checkout_leave_url
from payments.models import Checkout, StripeJob
from payments.settlement.runner import settlement_drain
from payments.tasks import checkouts_sweep
from tests.fakes.stripe import events

pytestmark = pytest.mark.django_db(transaction=True)

CREATE = "/v1/checkout/sessions"
EXPIRE = r"/v1/checkout/sessions/[^/]+/expire"
RETRIEVE = r"/v1/checkout/sessions/[^/]+"
CAPTURE = r"/v1/payment_intents/[^/]+/capture"
CANCEL = r"/v1/payment_intents/[^/]+/cancel"
REFUNDS = "/v1/refunds"


@pytest.fixture
def held_product(stripe_fake, make_store, make_product):
    store = make_store()
    store.qr_mode = QrMode.HELD_CHECKOUT
    store.save()
    product = make_product(store=store, inventory=2, link=False, max_per_checkout=2)
    stripe_fake.add_price(product.stripe_price_id, product=product.stripe_product_id, unit_amount=product.unit_amount)
    return product


def _scan(client, product, quantity, address="10.2.0.1"):
    return client.post(reverse("payments:scan", args=[product.scan_code]), {"quantity": quantity},
                       REMOTE_ADDR=address)


def _available(product) -> int:
    return Product.objects.with_availability().get(pk=product.pk).available


def test_the_session_request_is_one_stripe_accepts(client, held_product, stripe_fake):
    response = _scan(client, held_product, 2)
    checkout = Checkout.objects.get()
    assert response.status_code == 303 and response["Location"] == checkout.session_url
    (create,) = stripe_fake.calls("POST", CREATE)
    assert create["idempotency_key"] == f"session:checkout:{checkout.pk}"
    params = create["params"]
    assert params["line_items"] == [{"price": held_product.stripe_price_id, "quantity": "2"}]
    assert params["payment_intent_data"]["capture_method"] == "manual"
    session = stripe_fake.get("checkout.session", checkout.checkout_session_id)
    assert session["status"] == "open" and session["amount_total"] == 2 * held_product.unit_amount
    assert session["metadata"]["checkout"] == str(checkout.pk)


def test_a_product_without_a_stripe_price_is_sold_at_our_price_on_its_stripe_product(client, held_product,
                                                                                     stripe_fake):
    Product.objects.filter(pk=held_product.pk).update(stripe_price_id="")
    assert _scan(client, held_product, 1).status_code == 303
    (create,) = stripe_fake.calls("POST", CREATE)
    assert create["params"]["line_items"] == [{"price_data": {
        "currency": "usd", "unit_amount": str(held_product.unit_amount), "product": held_product.stripe_product_id},
        "quantity": "1"}]


def test_paid_at_stripe_the_held_units_become_the_sale_and_are_captured(client, held_product, stripe_fake, webhook):
    _scan(client, held_product, 2)
    checkout = Checkout.objects.get()
    session = stripe_fake.complete_session(checkout.checkout_session_id)
    assert webhook.post(client, events.event("checkout.session.completed", session)).status_code == 200
    checkout.refresh_from_db()
    assert checkout.status == Checkout.Status.PAID
    assert len(stripe_fake.calls("POST", CAPTURE)) == 1
    assert not stripe_fake.calls("POST", CANCEL) and not stripe_fake.calls("POST", REFUNDS)
    held_product.refresh_from_db()
    assert held_product.inventory == 0


def test_a_lapsed_hold_is_released_only_after_stripe_expires_the_session(client, held_product, stripe_fake):
    _scan(client, held_product, 2)
    checkout = Checkout.objects.get()
    Checkout.objects.filter(pk=checkout.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    stripe_fake.fail_next("POST", EXPIRE, status=503, times=None)  # Stripe away: the units stay held
    checkouts_sweep()
    assert _available(held_product) == 0
    assert StripeJob.objects.get(action=StripeJob.Action.EXPIRE_SESSION).state == StripeJob.State.PENDING
    stripe_fake.clear_faults()  # Stripe back: the job's next try expires the session, then releases
    StripeJob.objects.update(next_attempt_at=timezone.now())
    settlement_drain(seconds=10)
    checkout.refresh_from_db()
    assert checkout.status == Checkout.Status.EXPIRED
    assert stripe_fake.get("checkout.session", checkout.checkout_session_id)["status"] == "expired"
    assert _available(held_product) == 2


def test_stripe_refusing_to_expire_a_paid_session_turns_the_hold_into_the_sale(client, held_product, stripe_fake):
    _scan(client, held_product, 1)
    checkout = Checkout.objects.get()
    stripe_fake.complete_session(checkout.checkout_session_id)  # paid; its event has not arrived
    Checkout.objects.filter(pk=checkout.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    checkouts_sweep()
    (expire,) = stripe_fake.calls("POST", EXPIRE)
    assert expire["status"] == 400  # Stripe's error: the session is no longer open
    checkout.refresh_from_db()
    assert checkout.status == Checkout.Status.PAID
    assert not stripe_fake.calls("POST", CANCEL) and not stripe_fake.calls("POST", REFUNDS)


def test_checkout_session_expired_event_releases_the_hold(client, held_product, stripe_fake, webhook):
    _scan(client, held_product, 2)
    checkout = Checkout.objects.get()
    session = stripe_fake.expire_session(checkout.checkout_session_id)
    assert webhook.post(client, events.event("checkout.session.expired", session)).status_code == 200
    checkout.refresh_from_db()
    assert checkout.status == Checkout.Status.EXPIRED
    assert _available(held_product) == 2
    assert not stripe_fake.calls("POST", EXPIRE)  # Stripe expired it; nothing to ask


def test_the_cancel_url_expires_the_session_at_stripe_then_releases(client, held_product, stripe_fake):
    _scan(client, held_product, 2)
    checkout = Checkout.objects.get()
    assert client.get(held_checkout_leave_url(checkout.pk)).status_code == 302
    assert len(stripe_fake.calls("POST", EXPIRE)) == 1
    checkout.refresh_from_db()
    assert checkout.status == Checkout.Status.LEFT
    assert _available(held_product) == 2


def test_stripe_down_when_starting_holds_nothing(client, held_product, stripe_fake):
    stripe_fake.fail_next("POST", CREATE, status=500, times=None)
    response = _scan(client, held_product, 1)
    assert response.status_code == 503
    assert Checkout.objects.get().status == Checkout.Status.FAILED
    assert _available(held_product) == 2


def test_a_session_without_a_url_is_refused_clearly_expired_and_its_hold_released(client, held_product, stripe_fake):
    # Stripe's spec marks a Checkout Session's url nullable.
    stripe_fake.next_sessions_without_url()
    response = _scan(client, held_product, 2)
    assert response.status_code == 503
    page = response.content.decode()
    assert "without a page to pay on" in page and "nothing was charged and nothing is held" in page
    checkout = Checkout.objects.get()
    assert checkout.status == Checkout.Status.FAILED and checkout.session_url == ""
    assert _available(held_product) == 2
    # Nothing is left half-made: the session is recorded on the checkout and can no longer be paid.
    session = stripe_fake.get("checkout.session", checkout.checkout_session_id)
    assert session["status"] == "expired"
    (expire,) = stripe_fake.calls("POST", EXPIRE)
    assert expire["idempotency_key"] == f"expire:checkout:{checkout.pk}"
