"""How fast the fake answers: latency per request and Stripe's rate limit, both off by default.

Real Stripe takes hundreds of milliseconds for a create and answers 429 past the account's rate
(about 100 requests/s live, 25 in test mode). Tests stay fast with neither; a benchmark turns them on
(``fake.add_latency(...)``, ``fake.limit_rate(...)``, or ``python -m tests.fakes.stripe --latency …``)
to see what the store does when Stripe is as slow and as strict as the real one.
"""

from __future__ import annotations

import random
import re
import threading
import time
from dataclasses import dataclass

from .errors import StripeError

RATE_LIMIT_MESSAGE = ("Request rate limit exceeded. Learn more about rate limits here "
                      "https://stripe.com/docs/rate-limits.")


def rate_limited(message: str | None = None, code: str | None = None) -> StripeError:
    """Stripe's 429: invalid_request_error / rate_limit, never executed (the SDK keys off the status)."""
    return StripeError(429, "invalid_request_error", message or RATE_LIMIT_MESSAGE, code=code or "rate_limit",
                       executed=False)


@dataclass(frozen=True)
class Latency:
    """Requests matching ``method`` and ``pattern`` (the whole path) take ``seconds`` ± ``jitter``."""

    method: str
    pattern: re.Pattern
    seconds: float
    jitter: float = 0.0

    def matches(self, method: str, path: str) -> bool:
        return self.method in (method, "*") and self.pattern.fullmatch(path) is not None

    def draw(self) -> float:
        return max(0.0, self.seconds + random.uniform(-self.jitter, self.jitter))


class RateLimit:
    """A token bucket over every request, as Stripe counts them for an account: ``per_second``
    sustained, ``burst`` at once (default: one second's worth)."""

    def __init__(self, per_second: float, burst: float | None = None):
        if per_second <= 0:
            raise ValueError("per_second must be positive")
        self.per_second, self.burst = per_second, burst if burst is not None else max(per_second, 1.0)
        self._tokens, self._at = self.burst, time.monotonic()
        self._lock = threading.Lock()

    def admit(self) -> bool:
        with self._lock:
            now = time.monotonic()
            self._tokens = min(self.burst, self._tokens + (now - self._at) * self.per_second)
            self._at = now
            if self._tokens < 1:
                return False
            self._tokens -= 1
            return True


def pace(fake, *, create_ms: float = 0, read_ms: float = 0, jitter_ms: float = 0,
         rate_limit: float = 0) -> None:
    """Real Stripe's pace on ``fake``: POSTs (creates, updates) and GETs take their time, ± jitter, and
    requests past ``rate_limit`` per second get 429 (0: none of it)."""
    for method, ms in (("POST", create_ms), ("GET", read_ms)):
        if ms:
            fake.add_latency(method, ".*", seconds=ms / 1000, jitter=jitter_ms / 1000)
    if rate_limit:
        fake.limit_rate(rate_limit)
