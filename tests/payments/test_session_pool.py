"""Checkout Sessions made ahead for held-mode products (payments/checkout/session_pool.py), offline:
never more than the units available, handed out with no Stripe call, expired when the hold lapses."""

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from inventory.models import Product, QrMode, Reservation
from payments.checkout.session_pool import session_pool_fill
from payments.gateway import get_gateway
from payments.models import Checkout, PooledSession, StripeCall
from payments.tasks import checkouts_sweep, held_session_pools_fill

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def pooled_product(make_pooled_product):
    return make_pooled_product(inventory=3, max_per_checkout=2)


def _scan(product, quantity, address="10.0.0.1", buyer=None):
    return (buyer or Client()).post(reverse("payments:scan", args=[product.scan_code]), {"quantity": quantity},
                         REMOTE_ADDR=address)


def _calls(operation: str) -> int:
    return StripeCall.objects.filter(operation=operation).count()


def _ready(product) -> int:
    return PooledSession.objects.filter(product=product, retiring=False).count()


def test_the_pool_never_holds_more_sessions_than_units_available(pooled_product, settings):
    session_pool_fill(product_id=pooled_product.pk)
    assert _ready(pooled_product) == 3  # 3 units, though the pool may hold 5
    assert _calls("checkout.session.create") == 3

    # a buyer takes 2 units with a session made when asked (quantity 2 is not pooled): 1 unit left
    assert _scan(pooled_product, 2).status_code == 303
    assert _ready(pooled_product) == 3
    session_pool_fill(product_id=pooled_product.pk)
    assert _ready(pooled_product) == 1
    assert _calls("checkout.session.expire") == 2 and not PooledSession.objects.filter(retiring=True).exists()


def test_the_pool_stops_at_its_size_and_fills_again_after_a_hand_out(pooled_product, settings):
    settings.HELD_CHECKOUT_POOL_SIZE = 2
    Product.objects.filter(pk=pooled_product.pk).update(inventory=10)
    session_pool_fill(product_id=pooled_product.pk)
    assert _ready(pooled_product) == 2
    assert _scan(pooled_product, 1).status_code == 303
    assert _ready(pooled_product) == 1
    held_session_pools_fill()  # the beat's task: every held-mode product
    assert _ready(pooled_product) == 2


def test_a_scan_hands_out_a_ready_session_without_calling_stripe(pooled_product):
    session_pool_fill(product_id=pooled_product.pk)
    pooled = PooledSession.objects.order_by("session_expires_at").first()
    calls = StripeCall.objects.count()

    response = _scan(pooled_product, 1)

    assert response.status_code == 303 and response["Location"] == pooled.session_url
    assert StripeCall.objects.count() == calls
    checkout = Checkout.objects.get()
    # the session already named this checkout: the pooled row's id is the checkout's
    assert checkout.pk == pooled.pk and checkout.checkout_session_id == pooled.checkout_session_id
    assert checkout.status == Checkout.Status.RESERVED and checkout.client_ref == "10.0.0.1"
    session = get_gateway().checkout_session_retrieve(checkout.checkout_session_id)
    assert session["metadata"]["checkout"] == str(checkout.pk) and session["status"] == "open"
    (hold,) = Reservation.objects.filter(hold_ref=str(checkout.pk))
    assert hold.quantity == 1 and checkout.expires_at < checkout.session_expires_at < hold.expires_at
    assert not PooledSession.objects.filter(pk=pooled.pk).exists()


def test_a_handed_out_session_is_expired_when_its_hold_lapses(pooled_product):
    session_pool_fill(product_id=pooled_product.pk)
    _scan(pooled_product, 1)
    checkout = Checkout.objects.get()
    Checkout.objects.filter(pk=checkout.pk).update(expires_at=timezone.now() - timedelta(seconds=1))

    checkouts_sweep()

    checkout.refresh_from_db()
    assert checkout.status == Checkout.Status.EXPIRED
    assert get_gateway().checkout_session_retrieve(checkout.checkout_session_id)["status"] == "expired"
    assert Reservation.objects.get(hold_ref=str(checkout.pk)).state == Reservation.State.RELEASED


def test_turned_away_buyers_cause_no_stripe_call_and_leave_the_pool_alone(pooled_product, settings):
    Product.objects.filter(pk=pooled_product.pk).update(inventory=1)
    session_pool_fill(product_id=pooled_product.pk)
    phone = Client()
    assert _scan(pooled_product, 1, "10.0.0.1", buyer=phone).status_code == 303
    calls = StripeCall.objects.count()

    for n in range(2, 6):
        assert _scan(pooled_product, 1, f"10.0.0.{n}").status_code == 409
    assert StripeCall.objects.count() == calls

    # a refusal after the claim (the buyer's cap) rolls the claim back: the session stays pooled
    Product.objects.filter(pk=pooled_product.pk).update(inventory=2)
    session_pool_fill(product_id=pooled_product.pk)
    settings.CHECKOUT_MAX_OPEN_PER_BUYER = 1
    assert _scan(pooled_product, 1, "10.0.0.1", buyer=phone).status_code == 429
    assert _ready(pooled_product) == 1 and StripeCall.objects.count() == calls + 1  # the fill's one create


def test_a_price_change_or_leaving_held_mode_retires_the_pool(pooled_product):
    session_pool_fill(product_id=pooled_product.pk)
    Product.objects.filter(pk=pooled_product.pk).update(unit_amount=pooled_product.unit_amount + 100)
    _scan(pooled_product, 1)
    # made for the old amount: not handed out; a session was made for the new one instead
    assert Checkout.objects.get().amount == pooled_product.unit_amount + 100
    assert _calls("checkout.session.create") == 4

    session_pool_fill(product_id=pooled_product.pk)
    assert _calls("checkout.session.expire") == 3 and _ready(pooled_product) == 2  # 2 units left

    pooled_product.store.qr_mode = QrMode.PAYMENT_LINK
    pooled_product.store.save()
    held_session_pools_fill()
    assert not PooledSession.objects.exists()


def test_a_failed_expiry_is_kept_with_its_reason_then_given_up(pooled_product, monkeypatch):
    from payments.gateway import GatewayUnavailable

    session_pool_fill(product_id=pooled_product.pk)
    Product.objects.filter(pk=pooled_product.pk).update(inventory=2)

    def refuse(self, session_id, *, idempotency_key):
        raise GatewayUnavailable("Stripe is down")

    monkeypatch.setattr(type(get_gateway()), "checkout_session_expire", refuse)
    session_pool_fill(product_id=pooled_product.pk)
    (stuck,) = PooledSession.objects.filter(retiring=True)
    assert stuck.attempts == 1 and "Stripe is down" in stuck.last_error
    for _ in range(4):
        session_pool_fill(product_id=pooled_product.pk)
    assert not PooledSession.objects.filter(retiring=True).exists()  # left to Stripe's own deadline
    assert _ready(pooled_product) == 2


def test_buyers_at_once_each_get_their_own_pooled_session(pooled_product):
    Product.objects.filter(pk=pooled_product.pk).update(max_per_checkout=1)
    session_pool_fill(product_id=pooled_product.pk)
    creates = _calls("checkout.session.create")

    def buyer(n):
        try:
            return _scan(pooled_product, 1, f"10.1.0.{n}").status_code
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=12) as pool:
        statuses = sorted(pool.map(buyer, range(24)))

    assert statuses == [303] * 3 + [409] * 21
    assert _calls("checkout.session.create") == creates  # every winner got a ready session
    assert len(set(Checkout.objects.values_list("checkout_session_id", flat=True))) == 3
    assert not PooledSession.objects.exists()
