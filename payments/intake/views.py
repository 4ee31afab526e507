"""The Stripe webhook endpoint: dj-stripe's view, behind our own checks of the delivery.

Mounted at dj-stripe's own path (swagstore/urls.py, ahead of djstripe.urls), so the URL Stripe
knows stays the same. A delivery that is unsigned, wrongly signed, signed too long ago or too far
ahead, or not an Event is refused with 400 and never stored; the rest goes on to dj-stripe
(which verifies again and stores the trigger) and our callback (payments/intake/webhooks.py).
"""

import logging
import time

from django.http import HttpResponse, HttpResponseBadRequest
from django.shortcuts import get_object_or_404
from djstripe.models import WebhookEndpoint, WebhookEventTrigger
from djstripe.views import ProcessWebhookView

from common import metrics

from .deliveries import delivery_refusal

log = logging.getLogger(__name__)


class StripeWebhookView(ProcessWebhookView):
    def post(self, request, uuid):
        started = time.monotonic()
        signature = request.headers.get("Stripe-Signature")
        if not signature:
            return _refuse("The Stripe-Signature header is missing.")
        endpoint = get_object_or_404(WebhookEndpoint, djstripe_uuid=uuid)
        refusal = delivery_refusal(body=request.body, signature=signature, secret=endpoint.secret,
                                   tolerance=endpoint.djstripe_tolerance)
        if refusal:
            return _refuse(refusal)
        # dj-stripe's own post() from here on, with the endpoint already in hand (one lookup, not two).
        trigger = WebhookEventTrigger.from_request(request, webhook_endpoint=endpoint)
        if not trigger.valid:
            return _refuse("dj-stripe did not validate the delivery.")
        _log_stored(trigger, started)
        return HttpResponse(str(trigger.id))


def _log_stored(trigger: WebhookEventTrigger, started: float) -> None:
    """One line per stored webhook: which event, which intake row, how long the request took."""
    event = trigger.event
    ms = round((time.monotonic() - started) * 1000, 1)
    log.info("webhook %s %s stored (trigger %s) in %.1f ms", event.type, event.id, trigger.id, ms,
             extra={"event_id": event.id, "event_type": event.type, "trigger_id": trigger.id, "duration_ms": ms})


def _refuse(reason: str) -> HttpResponseBadRequest:
    # One line, no body or traceback: anyone can post here, and each refusal should cost us little.
    log.warning("webhook delivery refused: %s", reason, extra={"refusal": reason})
    metrics.WEBHOOKS_RECEIVED.labels(type="unverified", outcome="refused").inc()
    return HttpResponseBadRequest(reason, content_type="text/plain; charset=utf-8")
