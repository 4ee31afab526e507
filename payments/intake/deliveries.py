"""What a webhook delivery must be before anything of it is kept: signed by Stripe, recently (either
way), and shaped like an Event.

The signature is checked once, with Stripe's own verifier, and the body parsed once; a delivery
that fails either is refused with its reason (400) and never stored, so a stranger who learns the
URL can neither fill the database nor cause a 500 (which Stripe would retry, and may disable the
endpoint for). Events listed by catch-up (payments/intake/catch_up.py) pass the same shape check.
"""

import json
import time

import stripe

EVENT_ID_MAX = 255  # djstripe.Event.id
EVENT_TYPE_MAX = 250  # djstripe.Event.type
API_VERSION_MAX = 64  # djstripe.Event.api_version
REQUEST_ID_MAX = 50  # djstripe.Event.request_id


class DeliveryRefused(Exception):
    """Why a delivery may not be taken in: one sentence, safe to answer to anyone."""


class SignatureMismatch(DeliveryRefused):
    """Well formed and recent, but not signed with the secret we hold (perhaps an older copy of it)."""


def delivery_event(*, body: bytes, signature: str, secret: str, tolerance: int) -> dict:
    """The signed event of this delivery, parsed; raises DeliveryRefused."""
    try:
        payload = body.decode("utf-8")
    except UnicodeDecodeError:
        raise DeliveryRefused("The body is not UTF-8 text.") from None
    _check_signature(payload, signature, secret, tolerance)
    try:
        event = json.loads(payload)
    except ValueError:
        raise DeliveryRefused("The body is not JSON.") from None
    if refusal := event_shape_refusal(event):
        raise DeliveryRefused(refusal)
    return event


def _check_signature(payload: str, signature: str, secret: str, tolerance: int) -> None:
    signed_at = _signed_at(signature)
    if signed_at is None:
        raise DeliveryRefused("The Stripe-Signature header has no timestamp.")
    # Stripe's SDK refuses only old timestamps; one from the future is as suspect as a stale one.
    if abs(time.time() - signed_at) > tolerance:
        raise DeliveryRefused(f"The signature's timestamp is more than {tolerance} s from now.")
    try:
        stripe.WebhookSignature.verify_header(payload, signature, secret, tolerance)
    except stripe.SignatureVerificationError:
        raise SignatureMismatch("The signature does not match this endpoint's secret.") from None


def _signed_at(signature: str) -> int | None:
    for part in signature.split(","):
        key, _, value = part.strip().partition("=")
        if key == "t":
            return int(value) if value.isdigit() else None
    return None


def event_shape_refusal(data) -> str | None:
    """Why `data` (a parsed body, or an event listed from Stripe) is not an Event we can store."""
    if not isinstance(data, dict):
        return "The body is not a JSON object."
    bad = [name for name, valid in _EVENT_FIELDS.items() if not valid(data.get(name))]
    return f"Not a Stripe event: bad or missing {', '.join(bad)}." if bad else None


def _text(value, limit: int, *, optional: bool = False) -> bool:
    if value is None:
        return optional
    return isinstance(value, str) and (optional or value != "") and len(value) <= limit


def _request(value) -> bool:
    # Old API versions sent the request id as a plain string; newer ones an object.
    if value is None or isinstance(value, str):
        return value is None or len(value) <= REQUEST_ID_MAX
    return (isinstance(value, dict) and _text(value.get("id"), REQUEST_ID_MAX, optional=True)
            and _text(value.get("idempotency_key"), 10_000, optional=True))


_EVENT_FIELDS = {
    "id": lambda v: _text(v, EVENT_ID_MAX),
    "type": lambda v: _text(v, EVENT_TYPE_MAX),
    "livemode": lambda v: isinstance(v, bool),
    "created": lambda v: isinstance(v, int) and not isinstance(v, bool) and 0 <= v < 2**40,
    "data": lambda v: isinstance(v, dict) and isinstance(v.get("object"), dict),
    "api_version": lambda v: _text(v, API_VERSION_MAX, optional=True),
    "request": _request,
}
