"""Stripe's budget: one rate limit for all processes, and Stripe's own retry advice followed."""

import pytest
import stripe
from django.db import connection

from payments.gateway import GatewayRejected, GatewayUnavailable
from payments.gateway.live import _error_for
from payments.gateway.ratelimit import _take_shared
from payments.models import StripeRateBudget
from payments.settlement.runner import retry_delay


@pytest.mark.django_db(transaction=True)
def test_the_shared_bucket_gives_out_its_burst_then_refuses_until_it_refills():
    assert connection.vendor == "postgresql"
    rate = 3.0  # tokens per second; the burst is one second's worth
    takes = [_take_shared(rate) for _ in range(6)]
    # The first take creates the bucket (full); three tokens are spent at once, then none are left.
    assert takes.count(True) == 3 and takes[-1] is False
    StripeRateBudget.objects.update(tokens=0.5)
    assert _take_shared(rate) is False  # half a token is no token
    StripeRateBudget.objects.update(tokens=1.0)
    assert _take_shared(rate) is True


@pytest.mark.parametrize("status, headers, expected, retry_after", [
    (429, {"Retry-After": "7"}, GatewayUnavailable, 7.0),
    (500, {}, GatewayUnavailable, None),
    (409, {}, GatewayUnavailable, None),
    (400, {}, GatewayRejected, None),
    (500, {"Stripe-Should-Retry": "false"}, GatewayRejected, None),
    (400, {"Stripe-Should-Retry": "true"}, GatewayUnavailable, None),
])
def test_stripe_errors_follow_stripes_retry_advice(status, headers, expected, retry_after):
    error = stripe.StripeError("nope", http_status=status, headers=headers)

    mapped = _error_for(error, status)

    assert type(mapped) is expected and mapped.retry_after == retry_after


def test_backoff_grows_is_capped_and_never_undercuts_retry_after(settings):
    settings.STRIPE_RETRY_BASE_SECONDS, settings.STRIPE_RETRY_MAX_SECONDS = 2.0, 60.0
    settings.STRIPE_RETRY_FAST_ATTEMPTS = 9
    assert 1.0 <= retry_delay(attempts=1, retry_after=None) <= 2.0
    assert 16.0 <= retry_delay(attempts=5, retry_after=None) <= 32.0
    assert retry_delay(attempts=8, retry_after=None) <= 60.0
    assert retry_delay(attempts=9, retry_after=None) == 60.0  # parked at the cap, never dropped
    assert retry_delay(attempts=1, retry_after=30.0) == 30.0
