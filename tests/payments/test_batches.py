"""Batches for a hot product: the outcome depends on Stripe's event order only, never on arrival
order or on how the backlog is cut into batches; one ledger row and one Order per sale."""

import random
import time

import pytest
from django.db.models import Sum

from inventory.models import Product, StockMovement
from inventory.selectors import stock_drift
from payments import tasks
from payments.fulfilment.purchases import intake_apply_batch
from payments.models import IntakeEvent, Order
from tests.payments.helpers import purchase, stocked_product

pytestmark = pytest.mark.django_db(transaction=True)

STOCK, BUYERS = 4, 12


@pytest.fixture
def backlog(stripe_fake, webhook, client, monkeypatch):
    """BUYERS paid sessions for STOCK units, stored in a shuffled arrival order, none applied yet."""
    monkeypatch.setattr(tasks.fulfilment_wake, "apply_async", lambda *a, **k: None)  # no worker hears
    product = stocked_product(stripe_fake, STOCK)
    created = int(time.time()) - 100
    events = []
    for i in range(BUYERS):
        event = purchase(stripe_fake, product, capture="automatic" if i % 2 else "manual")
        event["created"] = created + i // 2  # pairs share a second: the event id breaks the tie
        events.append(event)
    for event in random.Random(BUYERS).sample(events, len(events)):
        assert webhook.post(client, event).status_code == 200
    assert not Order.objects.exists()
    return product, events


def _drain(batch_size: int) -> int:
    batches = 0
    while intake_apply_batch(limit=batch_size):
        batches += 1
    return batches


@pytest.mark.parametrize("batch_size", [1, 5, 500])
def test_the_earliest_events_win_whatever_the_batch_size(stripe_fake, backlog, batch_size):
    product, events = backlog
    # when
    batches = _drain(batch_size)
    # then
    assert batches == -(-BUYERS // batch_size)
    by_stripe_order = sorted(events, key=lambda e: (e["created"], e["id"]))
    winners = {e["data"]["object"]["id"] for e in by_stripe_order[:STOCK]}
    fulfilled = set(Order.objects.filter(status=Order.Status.FULFILLED).values_list("checkout_session_id", flat=True))
    assert fulfilled == winners
    given_back = Order.objects.filter(status__in=[Order.Status.REFUNDED, Order.Status.CANCELLED])
    assert given_back.count() == BUYERS - STOCK
    assert Product.objects.get(pk=product.pk).inventory == 0
    sales = StockMovement.objects.filter(product=product, reason=StockMovement.Reason.SALE)
    assert sorted(sales.values_list("source", flat=True)) == sorted(winners)  # one ledger row per sale
    assert StockMovement.objects.filter(product=product).aggregate(total=Sum("delta"))["total"] == 0
    assert stock_drift() == []
    assert not IntakeEvent.objects.exclude(state=IntakeEvent.State.DONE).exists()


def test_money_goes_back_once_per_oversold_session_and_the_link_is_switched_off_once(stripe_fake, backlog):
    product, events = backlog
    link_updates_before = len(stripe_fake.calls("POST", r"/v1/payment_links/[^/]+"))

    _drain(500)

    refunds = stripe_fake.calls("POST", "/v1/refunds")
    cancels = stripe_fake.calls("POST", r"/v1/payment_intents/[^/]+/cancel")
    keys = [c["idempotency_key"] for c in refunds + cancels if c["status"] == 200 and not c["replayed"]]
    assert len(keys) == len(set(keys)) == BUYERS - STOCK
    # coalesced: the whole batch sold the product out, which takes one link update
    assert len(stripe_fake.calls("POST", r"/v1/payment_links/[^/]+")) - link_updates_before == 1
    assert stripe_fake.get("payment_link", product.payment_link_id)["active"] is False


def test_a_replayed_batch_changes_nothing(stripe_fake, backlog):
    product, _ = backlog
    _drain(500)
    orders, movements = Order.objects.count(), StockMovement.objects.count()
    IntakeEvent.objects.update(state=IntakeEvent.State.READY)  # as if every event came back

    _drain(3)

    assert (Order.objects.count(), StockMovement.objects.count()) == (orders, movements)
    assert Product.objects.get(pk=product.pk).inventory == 0
