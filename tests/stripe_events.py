"""Webhook events built from Stripe's published shapes (../shared/stripe/fixtures3.json), signed
the way Stripe signs them (HMAC-SHA256 over "timestamp.body", written out here independently of
the app's own signing helper)."""

import hashlib
import hmac
import json
import secrets
import time

from tests.stripe_standin import shape


def checkout_session_completed(*, session_id: str, payment_intent: str | None, payment_link: str | None = None,
                               store_id: str | None = None, event_id: str | None = None,
                               amount_total: int = 2500, payment_status: str = "paid", **session_fields) -> dict:
    session = shape("checkout.session", id=session_id, status="complete", mode="payment", payment_status=payment_status,
                    payment_intent=payment_intent, payment_link=payment_link, amount_total=amount_total,
                    amount_subtotal=amount_total, currency="usd", url=None,
                    metadata={"store_id": store_id} if store_id else {}, **session_fields)
    return shape("event", id=event_id or f"evt_{secrets.token_hex(12)}", type="checkout.session.completed",
                 api_version="2024-06-20", created=int(time.time()), data={"object": session},
                 pending_webhooks=1, request={"id": None, "idempotency_key": None})


def stripe_signature(body: str, secret: str, *, timestamp: int | None = None) -> str:
    timestamp = int(time.time()) if timestamp is None else timestamp
    digest = hmac.new(secret.encode(), f"{timestamp}.{body}".encode(), hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def body_of(event: dict) -> str:
    return json.dumps(event)
