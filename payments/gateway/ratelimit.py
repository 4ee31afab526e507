"""A token bucket in PostgreSQL shared by every process that calls Stripe.

Stripe allows about 100 requests/s in live mode and 25 in test mode for the whole account, so the
limit must hold for all workers together, not per process. One row holds the bucket; taking a token
is a single conditional UPDATE in autocommit, so it never waits behind a long transaction.
Elsewhere (SQLite, or inside a transaction) the bucket is kept per process instead.
"""

import threading
import time

from django.conf import settings
from django.db import connection
from django.utils import timezone

from common import metrics

from ..models import StripeRateBudget

BUCKET = "stripe"
MAX_WAIT_SECONDS = 30.0

_TAKE_SQL = """
UPDATE {table} SET
    tokens = LEAST(%(burst)s, tokens + EXTRACT(EPOCH FROM clock_timestamp() - refilled_at) * %(rate)s) - 1,
    refilled_at = clock_timestamp()
WHERE name = %(name)s
  AND LEAST(%(burst)s, tokens + EXTRACT(EPOCH FROM clock_timestamp() - refilled_at) * %(rate)s) >= 1
RETURNING tokens
""".format(table=StripeRateBudget._meta.db_table)


class StripeRateLimited(Exception):
    """No token within MAX_WAIT_SECONDS: the caller treats it as Stripe being unavailable."""


def stripe_rate_wait() -> None:
    """Block until this process may send one request to Stripe."""
    rate = float(settings.STRIPE_RATE_LIMIT)
    if rate <= 0:
        return
    shared = connection.vendor == "postgresql" and not connection.in_atomic_block
    take = _take_shared if shared else _local_bucket(rate).take
    started = time.monotonic()
    if take(rate):
        return
    while True:  # the budget is spent: wait for it to refill
        if time.monotonic() > started + MAX_WAIT_SECONDS:
            raise StripeRateLimited(f"no Stripe request budget within {MAX_WAIT_SECONDS:.0f} s")
        time.sleep(min(1.0 / rate, 0.25))
        if take(rate):
            break
    metrics.stripe_rate_waited(seconds=time.monotonic() - started)


def _take_shared(rate: float) -> bool:
    params = {"burst": max(rate, 1.0), "rate": rate, "name": BUCKET}
    with connection.cursor() as cursor:
        cursor.execute(_TAKE_SQL, params)
        if cursor.fetchone() is not None:
            return True
    _ensure_bucket(rate)
    return False


def _ensure_bucket(rate: float) -> None:
    StripeRateBudget.objects.get_or_create(name=BUCKET, defaults={"tokens": max(rate, 1.0),
                                                                  "refilled_at": timezone.now()})


class _LocalBucket:
    def __init__(self, rate: float):
        self.rate, self.tokens, self.at = rate, max(rate, 1.0), time.monotonic()
        self.lock = threading.Lock()

    def take(self, rate: float) -> bool:
        with self.lock:
            now = time.monotonic()
            self.tokens = min(max(rate, 1.0), self.tokens + (now - self.at) * rate)
            self.at = now
            if self.tokens >= 1:
                self.tokens -= 1
                return True
            return False


_local: dict[float, _LocalBucket] = {}


def _local_bucket(rate: float) -> _LocalBucket:
    return _local.setdefault(rate, _LocalBucket(rate))
