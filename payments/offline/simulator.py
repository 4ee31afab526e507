"""Simulated purchases, like `stripe trigger`: a real-shaped, signed checkout.session.completed.

The event is signed with the endpoint's secret and posted to the running server, so it takes
exactly the path a Stripe delivery takes. Offline, the session, its line items and its
PaymentIntent are placed in the offline gateway's notebook first, where the fulfil task reads them.
"""

import json
import secrets
import time
import urllib.error
import urllib.request
from dataclasses import dataclass

from django.db import connection
from django.views.decorators.debug import sensitive_variables

from inventory.models import Product

from ..gateway import GatewayRejected, get_gateway, webhook_signature_header
from .gateway import OfflineGateway
from .shapes import stripe_shape


@dataclass(frozen=True)
class SignedDelivery:
    event_id: str
    session_id: str
    body: str
    signature: str


def offline_payment_link_shape(*, product: Product, url: str, capture_method: str = "manual") -> dict:
    link = stripe_shape("payment_link", id=product.payment_link_id, url=url, active=True, inactive_message=None,
                        metadata={"store_id": product.store_id, "product": product.stripe_product_id})
    link["payment_intent_data"] = {**link["payment_intent_data"], "capture_method": capture_method, "metadata": {}}
    link["restrictions"] = {"completed_sessions": {"count": 0, "limit": max(product.inventory, 1)}}
    return link


@sensitive_variables("secret")
def checkout_session_completed(*, product: Product, quantity: int, capture_method: str, secret: str,
                               timestamp: int | None = None) -> SignedDelivery:
    """Build (and, offline, back with notebook objects) one signed completed-session event."""
    token = secrets.token_hex(8)
    session_id, intent_id, event_id = f"cs_test_sim_{token}", f"pi_sim_{token}", f"evt_sim_{token}"
    amount = product.unit_amount * quantity
    price = stripe_shape("price", id=product.stripe_price_id or f"price_sim_{token}", product=product.stripe_product_id,
                         unit_amount=product.unit_amount, unit_amount_decimal=str(product.unit_amount),
                         currency=product.currency, type="one_time", recurring=None)
    item = stripe_shape("item", id=f"li_sim_{token}", description=product.display_name, price=price, quantity=quantity,
                        amount_subtotal=amount, amount_total=amount, currency=product.currency)
    session = stripe_shape("checkout.session", id=session_id, status="complete", mode="payment",
                           payment_status="paid" if capture_method == "automatic" else "unpaid",
                           payment_intent=intent_id, payment_link=product.payment_link_id or None,
                           amount_total=amount, amount_subtotal=amount, currency=product.currency,
                           metadata={"store_id": product.store_id}, created=int(time.time()), url=None)
    intent = stripe_shape("payment_intent", id=intent_id, amount=amount, currency=product.currency,
                          capture_method=capture_method, last_payment_error=None, next_action=None,
                          status="requires_capture" if capture_method == "manual" else "succeeded",
                          amount_capturable=amount if capture_method == "manual" else 0,
                          amount_received=0 if capture_method == "manual" else amount)
    gateway = get_gateway()
    if isinstance(gateway, OfflineGateway):
        gateway.notebook_put({**session, "line_items": {"object": "list", "data": [item], "has_more": False}})
        gateway.notebook_put(intent)
    return signed_event(event_type="checkout.session.completed", obj=session, secret=secret, timestamp=timestamp,
                        event_id=event_id)


@sensitive_variables("secret")
def signed_event(*, event_type: str, obj: dict, secret: str, timestamp: int | None = None,
                 event_id: str = "") -> SignedDelivery:
    """Stripe's event of `event_type` about `obj`, signed with the endpoint's secret."""
    now = int(time.time())
    event = stripe_shape("event", id=event_id or f"evt_sim_{secrets.token_hex(8)}", type=event_type,
                         data={"object": obj}, created=now, api_version="2024-06-20", pending_webhooks=1,
                         request={"id": None, "idempotency_key": None})
    body = json.dumps(event)
    signature = webhook_signature_header(body, secret, timestamp or now)
    session_id = obj["id"] if obj.get("object") == "checkout.session" else ""
    return SignedDelivery(event_id=event["id"], session_id=session_id, body=body, signature=signature)


def delivery_post(delivery: SignedDelivery, *, url: str, timeout: float = 30.0) -> tuple[int, str]:
    request = urllib.request.Request(url, data=delivery.body.encode(), method="POST", headers={
        "Content-Type": "application/json", "Stripe-Signature": delivery.signature,
        "User-Agent": "swagstore-simulate_purchase"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.read().decode(errors="replace")
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode(errors="replace")


# --- Our own checkout, offline: the card confirmation Stripe.js would make, and Stripe's event ---

PAYMENT_INTENT_EVENT_TYPES = {
    "requires_capture": "payment_intent.amount_capturable_updated",
    "succeeded": "payment_intent.succeeded",
    "canceled": "payment_intent.canceled",
}


@sensitive_variables("secret")
def payment_intent_event(*, intent: dict, secret: str, timestamp: int | None = None) -> SignedDelivery:
    """A signed event for the PaymentIntent as it now stands, as Stripe would send after a confirm.

    A declined confirm leaves the intent in requires_payment_method with a last_payment_error:
    that is payment_intent.payment_failed.
    """
    event_type = PAYMENT_INTENT_EVENT_TYPES.get(intent["status"])
    if event_type is None:
        if not intent.get("last_payment_error"):
            raise ValueError(f"No event to send for a PaymentIntent in {intent['status']}.")
        event_type = "payment_intent.payment_failed"
    return signed_event(event_type=event_type, obj=intent, secret=secret, timestamp=timestamp)


@sensitive_variables("secret")
def payment_intent_confirm_offline(*, payment_intent_id: str, payment_method: str, secret: str,
                                   webhook_url: str, idempotency_key: str) -> tuple[dict, int]:
    """Confirm with an offline test card, then deliver Stripe's event for the outcome to our webhook.

    Returns the intent and the webhook's HTTP status. Only for the offline gateway: with Stripe
    live, Stripe.js confirms and Stripe sends the event.
    """
    gateway = get_gateway()
    if not isinstance(gateway, OfflineGateway):
        raise RuntimeError("Offline confirmation is only for the offline gateway.")
    intent = gateway.payment_intent_confirm(payment_intent_id, payment_method=payment_method,
                                            idempotency_key=idempotency_key)
    status, _ = delivery_post(payment_intent_event(intent=intent, secret=secret), url=webhook_url)
    return intent, status


# --- A held checkout's Checkout Session, offline: the simulated hosted page's "Pay" -----------------

@sensitive_variables("secret")
def checkout_session_pay_offline(*, session_id: str, secret: str, webhook_url: str, email: str = "") -> tuple[dict, int]:
    """Complete an open offline session as Stripe would after a card payment, then deliver the
    signed checkout.session.completed to our webhook. Returns the session and the webhook's status."""
    gateway = get_gateway()
    if not isinstance(gateway, OfflineGateway):
        raise RuntimeError("The simulated hosted checkout is only for the offline gateway.")
    session = gateway.checkout_session_retrieve(session_id)
    if session["status"] != "open":
        raise GatewayRejected(f"This payment page is {session['status']}: it can no longer take a payment.",
                              code="checkout_session_not_open")
    offline = session.get("offline") or {}
    manual = offline.get("capture_method") == "manual"
    amount = session["amount_total"]
    intent = stripe_shape("payment_intent", id=f"pi_sim_{secrets.token_hex(8)}", amount=amount,
                          currency=session["currency"], capture_method="manual" if manual else "automatic",
                          metadata=offline.get("payment_intent_metadata") or {}, last_payment_error=None,
                          next_action=None, status="requires_capture" if manual else "succeeded",
                          amount_capturable=amount if manual else 0, amount_received=0 if manual else amount,
                          created=int(time.time()))
    gateway.notebook_put(intent)
    session = gateway.notebook_put({**session, "status": "complete", "url": None, "payment_intent": intent["id"],
                                    "payment_status": "unpaid" if manual else "paid",
                                    "customer_details": {"email": email or None}})
    public = {k: v for k, v in session.items() if k != "offline"}
    # The event goes to this same server: give our database connection back first, or a burst of
    # payments could hold every pooled connection while their webhooks wait for one.
    if not connection.in_atomic_block:
        connection.close()
    status, _ = delivery_post(signed_event(event_type="checkout.session.completed", obj=public, secret=secret),
                              url=webhook_url)
    return session, status
