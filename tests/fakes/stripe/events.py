"""Webhook events as Stripe sends them, and their signed delivery: the one event builder for tests.

Every event is Stripe's published ``event`` shape around an object (usually one the fake served, or
``shapes.shape(...)``); the signature is Stripe's scheme (HMAC-SHA256 over ``"<timestamp>.<body>"``),
written out here independently of the app's own signing helper.

    session = fake.complete_session(session.id)
    delivery = signed(event("checkout.session.completed", session), secret)
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass

from .shapes import shape

API_VERSION = "2024-06-20"


def event(type: str, obj: dict, *, id: str | None = None, created: int | None = None, **fields) -> dict:
    """A ``type`` event about ``obj`` (a copy of it is ``data.object``)."""
    return shape("event", id=id or f"evt_{secrets.token_hex(12)}", type=type, api_version=API_VERSION,
                 created=int(time.time()) if created is None else created, data={"object": obj},
                 pending_webhooks=1, request={"id": None, "idempotency_key": None}, **fields)


def checkout_session_completed(*, session_id: str, payment_intent: str | None, payment_link: str | None = None,
                               store_id: str | None = None, event_id: str | None = None, amount_total: int = 2500,
                               payment_status: str = "paid", **session_fields) -> dict:
    """A completed (paid, by default) session event, for a session the fake need not hold."""
    session = shape("checkout.session", id=session_id, status="complete", mode="payment",
                    payment_status=payment_status, payment_intent=payment_intent, payment_link=payment_link,
                    amount_total=amount_total, amount_subtotal=amount_total, currency="usd", url=None,
                    metadata={"store_id": store_id} if store_id else {}, **session_fields)
    return event("checkout.session.completed", session, id=event_id)


def body_of(event: dict) -> str:
    return json.dumps(event)


def signature(body: str, secret: str, *, timestamp: int | None = None) -> str:
    """The ``Stripe-Signature`` header Stripe sends with ``body``."""
    timestamp = int(time.time()) if timestamp is None else timestamp
    digest = hmac.new(secret.encode(), f"{timestamp}.{body}".encode(), hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


@dataclass(frozen=True)
class Delivery:
    event_id: str
    body: str
    signature: str

    @property
    def headers(self) -> dict:
        return {"Content-Type": "application/json", "Stripe-Signature": self.signature}


def signed(event: dict | str, secret: str, *, timestamp: int | None = None) -> Delivery:
    """One delivery attempt of ``event`` (or of a body as it stands), signed now (or at ``timestamp``)."""
    body = event if isinstance(event, str) else body_of(event)
    event_id = event["id"] if isinstance(event, dict) else ""
    return Delivery(event_id, body, signature(body, secret, timestamp=timestamp))
