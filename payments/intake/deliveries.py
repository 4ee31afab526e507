"""What a webhook delivery must be before anything of it is kept: signed by Stripe, recently (either
way), and shaped like an Event.

dj-stripe stores every delivery whole before checking its signature, accepts signatures dated in
the future, and answers 500 for a signed body that is not an Event. We check first and answer 400
with the reason, so a stranger who learns the URL can neither fill the database nor cause a 500
(which Stripe would retry, and may disable the endpoint for).
"""

import json
import time

import stripe

EVENT_ID_MAX = 255  # djstripe.Event.id
EVENT_TYPE_MAX = 250  # djstripe.Event.type
API_VERSION_MAX = 64  # djstripe.Event.api_version
REQUEST_ID_MAX = 50  # djstripe.Event.request_id


def delivery_refusal(*, body: bytes, signature: str, secret: str, tolerance: int) -> str | None:
    """Why this delivery must be refused (a sentence), or None when it may be taken in."""
    try:
        payload = body.decode("utf-8")
    except UnicodeDecodeError:
        return "The body is not UTF-8 text."
    return signature_refusal(payload, signature, secret, tolerance) or event_shape_refusal(payload)


def signature_refusal(payload: str, signature: str, secret: str, tolerance: int) -> str | None:
    signed_at = _signed_at(signature)
    if signed_at is None:
        return "The Stripe-Signature header has no timestamp."
    # Stripe's SDK refuses only old timestamps; one from the future is as suspect as a stale one.
    if abs(time.time() - signed_at) > tolerance:
        return f"The signature's timestamp is more than {tolerance} s from now."
    try:
        stripe.WebhookSignature.verify_header(payload, signature, secret, tolerance)
    except stripe.SignatureVerificationError:
        return "The signature does not match this endpoint's secret."
    return None


def _signed_at(signature: str) -> int | None:
    for part in signature.split(","):
        key, _, value = part.strip().partition("=")
        if key == "t":
            return int(value) if value.isdigit() else None
    return None


def event_shape_refusal(payload: str) -> str | None:
    try:
        data = json.loads(payload)
    except ValueError:
        return "The body is not JSON."
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
