"""The Stripe webhook endpoint: one plain view, no dj-stripe view or callback in the way.

Look the endpoint's secret up (kept a few seconds per process: payments/endpoints.py), check the
signature once and parse once (payments/intake/deliveries.py), store the event and its intake row in
one transaction (payments/intake/events.py), answer 200. A delivery that is unsigned, wrongly signed, signed too long ago or too far ahead, or not an Event is
refused with 400 and its reason, and nothing of it is stored. No delivery row is kept for an
accepted delivery: its Event row is the record (admin: Events), and a refusal is a log line.
"""

import logging
import time

from django.http import Http404, HttpResponse, HttpResponseBadRequest
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from common import metrics

from ..endpoints import webhook_endpoint_secret
from .deliveries import DeliveryRefused, SignatureMismatch, delivery_event
from .events import stripe_event_store

log = logging.getLogger(__name__)


@csrf_exempt  # Stripe signs its deliveries; it has no cookie or CSRF token
@require_POST
def stripe_webhook(request, uuid):
    started = time.monotonic()
    signature = request.headers.get("Stripe-Signature")
    if not signature:
        return _refuse("The Stripe-Signature header is missing.")
    try:
        data = _signed_event(request.body, signature, uuid)
    except DeliveryRefused as refused:
        return _refuse(str(refused))
    event = stripe_event_store(data=data)
    _log_stored(event, started=started)
    return HttpResponse(event.id, content_type="text/plain; charset=utf-8")


def _signed_event(body: bytes, signature: str, uuid) -> dict:
    endpoint = webhook_endpoint_secret(uuid=uuid)
    if endpoint is None:
        raise Http404("No webhook endpoint here.")
    try:
        return delivery_event(body=body, signature=signature, secret=endpoint.secret, tolerance=endpoint.tolerance)
    except SignatureMismatch:
        # The secret may have been rotated since this process read it: read it again, verify once more.
        rotated = webhook_endpoint_secret(uuid=uuid, fresh=True)
        if rotated is None or rotated.secret == endpoint.secret:
            raise
        return delivery_event(body=body, signature=signature, secret=rotated.secret, tolerance=rotated.tolerance)


def _log_stored(event, *, started: float) -> None:
    """One line and one count per accepted webhook (a redelivery stores nothing new): which event, how long."""
    ms = round((time.monotonic() - started) * 1000, 1)
    log.info("webhook %s %s accepted in %.1f ms", event.type, event.id, ms,
             extra={"event_id": event.id, "event_type": event.type, "outcome": "accepted", "duration_ms": ms})
    metrics.WEBHOOKS_RECEIVED.labels(type=event.type, outcome="accepted").inc()


def _refuse(reason: str) -> HttpResponseBadRequest:
    # One line, no body or traceback: anyone can post here, and each refusal should cost us little.
    log.warning("webhook delivery refused: %s", reason, extra={"refusal": reason})
    metrics.WEBHOOKS_RECEIVED.labels(type="unverified", outcome="refused").inc()
    return HttpResponseBadRequest(reason, content_type="text/plain; charset=utf-8")
