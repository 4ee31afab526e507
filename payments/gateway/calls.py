"""The record of every Stripe call, live or offline (admin: Stripe calls; and the log)."""

import logging

from common import metrics

from ..models import StripeCall

log = logging.getLogger("payments.gateway")


def stripe_call_record(*, mode: str, operation: str, target: str, params: dict, idempotency_key: str,
                       outcome: str) -> None:
    StripeCall.objects.create(mode=mode, operation=operation, target=target, params=params,
                              idempotency_key=idempotency_key, outcome=outcome[:255])
    log.info("stripe[%s] %s %s key=%s -> %s", mode, operation, target, idempotency_key or "-", outcome)
    metrics.STRIPE_CALLS.labels(action=operation, outcome=metrics.stripe_outcome(outcome)).inc()
