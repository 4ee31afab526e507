"""Webhook deliveries as Stripe makes them: signed, several at once, and delivered again after a
pause whenever the answer is not 2xx (or there is none), for a bounded time."""

from __future__ import annotations

import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass

from tests.fakes.stripe import events


@dataclass(frozen=True)
class Attempt:
    event_id: str
    started: float  # time.monotonic()
    ended: float
    status: int | None  # None: no HTTP answer (refused, reset, timed out)
    error: str = ""

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300

    def __str__(self) -> str:
        return f"{self.event_id}: {self.status or self.error}"


class Deliverer:
    def __init__(self, url: str, secret: str, *, concurrency: int = 6, pause: float = 0.5,
                 request_timeout: float = 15.0, give_up_after: float = 60.0):
        self.url, self.secret = url, secret
        self.pause, self.request_timeout, self.give_up_after = pause, request_timeout, give_up_after
        self.attempts: list[Attempt] = []
        self._lock = threading.Lock()
        self._closed = threading.Event()
        self._pool = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="stripe-delivery")

    def send(self, events: list[dict]) -> list[Future]:
        """Start delivering each event; each future ends True once it was answered 2xx."""
        return [self._pool.submit(self._deliver, event) for event in events]

    def wait(self, futures: list[Future], timeout: float) -> list[str]:
        """Wait for deliveries to end; returns a description of those not answered 2xx."""
        done, not_done = wait(futures, timeout=timeout)
        failed = [f for f in done if f.exception() or not f.result()]
        return [repr(f.exception()) if f.exception() else "gave up" for f in failed] + ["still going"] * len(not_done)

    def attempts_between(self, start: float, end: float) -> list[Attempt]:
        """Attempts made entirely within [start, end] (time.monotonic())."""
        with self._lock:
            return [a for a in self.attempts if a.started >= start and a.ended <= end]

    def summary(self) -> str:
        with self._lock:
            statuses = Counter(a.status or a.error.split(":")[0] for a in self.attempts)
        return f"{len(self.attempts)} attempts: {dict(statuses)}"

    def close(self) -> None:
        self._closed.set()
        self._pool.shutdown(wait=False, cancel_futures=True)

    def _deliver(self, event: dict) -> bool:
        body = events.body_of(event)
        deadline = time.monotonic() + self.give_up_after
        while not self._closed.is_set():
            attempt = self._post(event["id"], body)
            with self._lock:
                self.attempts.append(attempt)
            if attempt.ok:
                return True
            if time.monotonic() + self.pause > deadline:
                return False
            self._closed.wait(self.pause)
        return False

    def _post(self, event_id: str, body: str) -> Attempt:
        # Stripe signs every attempt afresh (new timestamp), over the same body.
        delivery = events.signed(body, self.secret)
        request = urllib.request.Request(self.url, data=body.encode(), method="POST", headers=delivery.headers)
        started = time.monotonic()
        try:
            with urllib.request.urlopen(request, timeout=self.request_timeout) as response:
                status, error = response.status, ""
        except urllib.error.HTTPError as exc:
            status, error = exc.code, ""
        except OSError as exc:
            status, error = None, f"{type(exc).__name__}: {exc}"
        return Attempt(event_id, started, time.monotonic(), status, error)
