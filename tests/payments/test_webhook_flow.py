"""A signed checkout.session.completed all the way: webhook → task → stock → order → Stripe."""

import pytest
from django.db.models import Sum
from django.test import Client
from djstripe.models import Event

from inventory.models import Product, StockMovement
from inventory.selectors import stock_drift
from payments.models import Order
from tests.payments.helpers import intent_status, purchase, run_in_threads, stocked_product

pytestmark = pytest.mark.django_db(transaction=True)




def test_signed_webhook_takes_stock_records_order_and_captures(stripe_fake, webhook, client):
    # given
    product = stocked_product(stripe_fake, 3)
    event = purchase(stripe_fake, product, quantity=2, capture="manual")
    session_id = event["data"]["object"]["id"]
    # when
    response = webhook.post(client, event)
    # then
    assert response.status_code == 200
    product.refresh_from_db()
    assert product.inventory == 1
    movement = StockMovement.objects.get(product=product, source=session_id)
    assert (movement.delta, movement.balance_after, movement.reason) == (-2, 1, "sale")
    order = Order.objects.get(checkout_session_id=session_id)
    assert order.status == Order.Status.FULFILLED
    assert order.capture == Order.Capture.CAPTURED
    assert [(line.product_id, line.quantity) for line in order.lines.all()] == [(product.pk, 2)]
    assert intent_status(stripe_fake, order.payment_intent_id) == "succeeded"
    link = stripe_fake.get("payment_link", product.payment_link_id)
    assert link["active"] is True
    completed = link["restrictions"]["completed_sessions"]
    assert completed["count"] == 1 and completed["limit"] == 1 + 1  # completed so far + stock


def test_last_unit_switches_link_off_and_restock_switches_it_back_on(stripe_fake, webhook, client):
    from inventory.services import stock_increase

    product = stocked_product(stripe_fake, 1)
    assert webhook.post(client, purchase(stripe_fake, product)).status_code == 200
    link = stripe_fake.get("payment_link", product.payment_link_id)
    assert link["active"] is False
    assert link["inactive_message"]
    product.refresh_from_db()
    assert product.payment_link_active is False

    stock_increase(product=product, quantity=4, source="test-restock")
    link = stripe_fake.get("payment_link", product.payment_link_id)
    assert link["active"] is True
    assert link["restrictions"]["completed_sessions"]["limit"] == link["restrictions"]["completed_sessions"]["count"] + 4
    product.refresh_from_db()
    assert product.payment_link_active is True


@pytest.mark.parametrize("capture, expected_status, intent_after", [
    ("manual", Order.Status.CANCELLED, "canceled"),
    ("automatic", Order.Status.REFUNDED, "succeeded"),
])
def test_sold_out_payment_is_cancelled_or_refunded_once(stripe_fake, webhook, client, capture, expected_status,
                                                        intent_after):
    product = stocked_product(stripe_fake, 0)
    event = purchase(stripe_fake, product, capture=capture)
    assert webhook.post(client, event).status_code == 200
    order = Order.objects.get(checkout_session_id=event["data"]["object"]["id"])
    assert order.status == expected_status
    assert "Sold out" in order.resolution
    assert intent_status(stripe_fake, order.payment_intent_id) == intent_after
    refunds = stripe_fake.calls("POST", "/v1/refunds")
    cancels = stripe_fake.calls("POST", r"/v1/payment_intents/[^/]+/cancel")
    if capture == "manual":
        assert (len(refunds), len(cancels)) == (0, 1)
    else:
        assert (len(refunds), len(cancels)) == (1, 0)
        assert refunds[0]["params"]["payment_intent"] == order.payment_intent_id
        assert refunds[0]["idempotency_key"] == f"refund:{order.checkout_session_id}"
    assert Product.objects.get(pk=product.pk).inventory == 0
    assert not StockMovement.objects.filter(source=order.checkout_session_id).exists()


def test_one_event_delivered_five_times_in_sequence_is_processed_once(stripe_fake, webhook, client):
    product = stocked_product(stripe_fake, 5)
    event = purchase(stripe_fake, product)
    statuses = [webhook.post(client, event).status_code for _ in range(5)]
    assert statuses == [200] * 5
    _assert_processed_once(stripe_fake, product, event, stock_after=4)


def test_one_event_delivered_five_times_at_once_is_processed_once(stripe_fake, webhook):
    product = stocked_product(stripe_fake, 5)
    event = purchase(stripe_fake, product)
    results = run_in_threads(lambda: webhook.post(Client(), event).status_code, [()] * 5)
    assert results == [200] * 5
    _assert_processed_once(stripe_fake, product, event, stock_after=4)


def _assert_processed_once(fake, product, event, *, stock_after):
    session_id = event["data"]["object"]["id"]
    assert Event.objects.filter(id=event["id"]).count() == 1
    assert Order.objects.filter(checkout_session_id=session_id).count() == 1
    assert StockMovement.objects.filter(source=session_id).count() == 1
    assert Product.objects.get(pk=product.pk).inventory == stock_after
    # a Payment Link session tells what was bought: no line items call at all
    assert fake.calls("GET", rf"/v1/checkout/sessions/{session_id}/line_items") == []


def test_fifty_buyers_race_for_the_last_five_units(stripe_fake, webhook, settings):
    settings.STRIPE_TIMEOUT_SECONDS = 15  # two cores, fifty threads: slowness is not what this tests
    # given: 5 units, 50 paid sessions arriving at once, half authorised only, half captured
    stock = 5
    product = stocked_product(stripe_fake, stock)
    events = [purchase(stripe_fake, product, capture="manual" if i % 2 else "automatic") for i in range(50)]
    # when
    results = run_in_threads(lambda e: webhook.post(Client(), e).status_code, [(e,) for e in events])
    # then
    assert results == [200] * 50
    orders = Order.objects.filter(checkout_session_id__in=[e["data"]["object"]["id"] for e in events])
    by_status = {s: orders.filter(status=s).count() for s in Order.Status.values}
    assert by_status[Order.Status.FULFILLED] == stock
    assert by_status[Order.Status.REFUNDED] + by_status[Order.Status.CANCELLED] == 50 - stock
    assert Product.objects.get(pk=product.pk).inventory == 0
    assert StockMovement.objects.filter(product=product).aggregate(total=Sum("delta"))["total"] == 0
    assert stock_drift() == []
    money_back = orders.exclude(status=Order.Status.FULFILLED)
    _assert_money_back_once(stripe_fake, money_back)
    link = stripe_fake.get("payment_link", product.payment_link_id)
    assert link["active"] is False


def _assert_money_back_once(fake, orders):
    """Each oversold session got exactly one refund or one cancellation, under one idempotency key."""
    refunded = orders.filter(status=Order.Status.REFUNDED)
    refund_calls = fake.calls("POST", "/v1/refunds")
    assert {c["idempotency_key"] for c in refund_calls} == {f"refund:{o.checkout_session_id}" for o in refunded}
    sdk = fake.sdk_client()
    for order in refunded:
        assert [r.id for r in sdk.v1.refunds.list({"payment_intent": order.payment_intent_id})] == [order.refund_id]
    cancelled = orders.filter(status=Order.Status.CANCELLED)
    executed_cancels = [c["path"].split("/")[3] for c in fake.calls("POST", r"/v1/payment_intents/[^/]+/cancel")
                        if c["status"] == 200 and not c["replayed"]]
    assert sorted(executed_cancels) == sorted(o.payment_intent_id for o in cancelled)
