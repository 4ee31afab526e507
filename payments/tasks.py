"""Celery tasks: each re-reads state by id and makes Stripe match it, safe to run twice.

Stripe calls retry with exponential backoff on GatewayUnavailable (network, 5xx, 429) and carry
idempotency keys derived from the checkout session, so a retried task never refunds twice.
"""

import logging

from celery import shared_task
from djstripe.models import Event

from inventory import selectors as inventory_selectors

from . import services
from .gateway import GatewayRejected, GatewayUnavailable, get_gateway
from .links import payment_link_bring_in_step
from .models import Order

log = logging.getLogger(__name__)

STRIPE_TASK = {
    "autoretry_for": (GatewayUnavailable,),
    "retry_backoff": 2,
    "retry_backoff_max": 300,
    "retry_jitter": True,
    "max_retries": 8,
    "acks_late": True,
}


@shared_task(**STRIPE_TASK)
def checkout_session_fulfil(event_id: str) -> str:
    """Fulfil the checkout session of a stored `checkout.session.completed` event."""
    event = Event.objects.get(id=event_id)
    session = event.data["object"]
    if session.get("mode") != "payment" or session.get("status") != "complete":
        return f"ignored: session {session.get('id')} is {session.get('mode')}/{session.get('status')}"
    if services.order_exists(checkout_session_id=session["id"]):
        return "already handled"
    line_items = get_gateway().checkout_session_line_items(session["id"])
    order = services.checkout_session_fulfil(session=session, line_items=line_items, event_id=event_id)
    return f"{order.checkout_session_id}: {order.status}"


@shared_task(**STRIPE_TASK)
def order_capture_payment(order_id: int) -> str:
    """Capture an authorised payment whose stock we hold; nothing to do for automatic capture."""
    order = Order.objects.get(pk=order_id)
    if order.status != Order.Status.FULFILLED or order.capture != Order.Capture.PENDING:
        return f"nothing to capture ({order.status}/{order.capture})"
    gateway = get_gateway()
    intent = gateway.payment_intent_retrieve(order.payment_intent_id)
    if intent["status"] == "requires_capture":
        gateway.payment_intent_capture(order.payment_intent_id, idempotency_key=f"capture:{order.checkout_session_id}")
        services.order_record_capture(order_id=order_id, captured=True, note=f"Payment captured ({gateway.mode}).")
        return "captured"
    if intent["status"] == "succeeded":
        services.order_record_capture(order_id=order_id, captured=True)
        return "already captured"
    if intent["status"] == "processing":
        raise GatewayUnavailable("PaymentIntent still processing; look again later.")
    services.order_record_problem(order_id=order_id, note=f"PaymentIntent is {intent['status']}: staff to check.")
    return f"unexpected intent status {intent['status']}"


@shared_task(**STRIPE_TASK)
def order_give_money_back(order_id: int) -> str:
    """For an oversold order: cancel the authorisation if uncaptured (no fee), else refund it."""
    order = Order.objects.get(pk=order_id)
    if order.status != Order.Status.OVERSOLD:
        return f"nothing to give back ({order.status})"
    if not order.payment_intent_id:
        services.order_record_problem(order_id=order_id, note="No PaymentIntent on the session: refund by hand.")
        return "no payment intent"
    gateway = get_gateway()
    intent = gateway.payment_intent_retrieve(order.payment_intent_id)
    key = f"{order.checkout_session_id}"
    if intent["status"] == "canceled":
        return _closed(order, Order.Status.CANCELLED, "", "Authorisation was already cancelled.")
    if intent["status"] == "processing":
        raise GatewayUnavailable("PaymentIntent still processing; refund once it settles.")
    if intent["status"] != "succeeded":
        gateway.payment_intent_cancel(order.payment_intent_id, idempotency_key=f"cancel:{key}")
        return _closed(order, Order.Status.CANCELLED, "",
                       f"Authorisation cancelled before capture, no fee ({gateway.mode}).")
    try:
        refund = gateway.refund_create(payment_intent_id=order.payment_intent_id, idempotency_key=f"refund:{key}",
                                       metadata={"checkout_session": order.checkout_session_id, "reason": "sold_out"})
    except GatewayRejected as exc:
        if exc.code != "charge_already_refunded":
            raise
        refund = {"id": "already-refunded"}
    return _closed(order, Order.Status.REFUNDED, refund["id"], f"Refunded {refund['id']} ({gateway.mode}).")


def _closed(order: Order, status: str, refund_id: str, note: str) -> str:
    services.order_record_money_back(order_id=order.pk, status=status, refund_id=refund_id, note=note)
    return status


@shared_task(**STRIPE_TASK)
def payment_link_sync(product_id: int) -> str:
    """Make the product's Payment Link match its stock: off at zero, on above, limit in step."""
    product = inventory_selectors.product_by_id(product_id=product_id)
    return payment_link_bring_in_step(product=product)


@shared_task(**STRIPE_TASK)
def checkout_reconcile(checkout_id: str, event_type: str = "") -> str:
    """Bring a checkout in line with its PaymentIntent at Stripe, whatever order events came in."""
    from .checkout_flow import checkout_follow_payment

    return checkout_follow_payment(checkout_id=checkout_id, event_type=event_type)


@shared_task(acks_late=True)
def checkouts_sweep() -> str:
    """Periodic: release lapsed holds, capture sold-but-uncaptured, cancel authorisations near lapse."""
    from .checkout_flow import checkouts_needing_attention, holds_release_expired

    expired = holds_release_expired()
    attention = checkouts_needing_attention()
    for checkout_id in attention:
        checkout_reconcile.delay(str(checkout_id))
    return f"released {len(expired)} hold(s), reconciling {len(attention)} checkout(s)"
