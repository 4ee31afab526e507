"""A chat webhook that trickles its answer, or redirects to 127.0.0.1, while purchases arrive.

The Procfile's bulkheads: the sales worker takes the sales queue only, alerts drain from the notify
queue in their own worker, and each send has a total deadline. So the slowest sale of a burst that
raises alerts to a stuck endpoint is as quick as that of a burst raising none; the redirect is
never followed; and once the endpoint recovers each alert reaches it exactly once.
"""

from __future__ import annotations

import json
import math
import os
import sys
import time

import pytest

from inventory.models import LowStockAlert, LowStockAlertDelivery
from payments.models import Order
from tests.faults.checks import session_of
from tests.faults.processes import free_port, http_answers, wait_until
from tests.payments.helpers import purchase, stocked_product

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

HOT = 6  # products whose first sale crosses their low-stock threshold: one alert each
CALM_SALES = 6  # sales of products that stay well above theirs, in each burst
# How much slower the slowest sale may be with the slow endpoint than without it: a loaded 2-core
# machine's noise, far below what sharing the worker with the endpoint cost (every sale waited
# for it, 64 s in the report).
MARGIN_SECONDS = 5.0
WEBHOOK = LowStockAlertDelivery.Channel.WEBHOOK


class ChatEndpoint:
    """tests/faults/chat_endpoint.py as a process of the test's own, restartable on its port."""

    def __init__(self, processes, log_dir, name: str):
        self.processes, self.name = processes, name
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/hooks/{name}"
        self.log = log_dir / f"{name}-requests.jsonl"
        self.proc = None

    def start(self, mode: str, redirect_to: str = "") -> ChatEndpoint:
        command = [sys.executable, "-m", "tests.faults.chat_endpoint", str(self.port), mode, str(self.log), redirect_to]
        self.proc = self.processes.spawn(f"{self.name}-{mode}", command, env=dict(os.environ),
                                         ready=http_answers(self.url))
        self.proc.wait_ready(20)
        return self

    def restart(self, mode: str) -> None:
        self.proc.stop()
        self.start(mode)

    def requests(self, mode: str | None = None) -> list[dict]:
        lines = self.log.read_text().splitlines() if self.log.exists() else []
        return [r for r in map(json.loads, lines) if mode is None or r["mode"] == mode]


@pytest.fixture
def chat_endpoints(processes, tmp_path):
    return lambda name: ChatEndpoint(processes, tmp_path, name)


def _start_with_bulkheads(stack, chat_url: str) -> None:
    """Web, beat and the Procfile's three workers (sales; stripe with the sweeps; notify), alerts to `chat_url`."""
    stack.extra_env.update({
        "LOW_STOCK_WEBHOOK_URL": chat_url, "LOW_STOCK_WEBHOOK_ALLOWED_NETWORKS": "127.0.0.1/32",
        "LOW_STOCK_WEBHOOK_TIMEOUT_SECONDS": "3", "LOW_STOCK_ALERT_EMAILS": "booth-lead@example.com",
        "EMAIL_BACKEND": "django.core.mail.backends.dummy.EmailBackend",
        "ALERT_RETRY_BASE_SECONDS": "1", "ALERT_RETRY_MAX_SECONDS": "3", "ALERT_MAX_ATTEMPTS": "100"})
    launched = [stack.launch_web(), stack.launch_beat()]
    launched += [stack.launch_worker(queues) for queues in (("sales",), ("stripe", ""), ("notify",))]
    for proc in launched:
        proc.wait_ready(90)


def _slowest_sale_seconds(deliverer, events: list[dict], timeout: float = 60) -> float:
    """Deliver the burst; the longest time from a purchase's 2xx to its Order."""
    wall = time.time() - time.monotonic()
    assert not deliverer.wait(deliverer.send(events), timeout), deliverer.summary()
    sessions = {session_of(e): e["id"] for e in events}
    orders = Order.objects.filter(checkout_session_id__in=sessions)
    assert wait_until(lambda: orders.count() == len(sessions), timeout), (
        f"{orders.count()} of {len(sessions)} sales applied after {timeout} s")
    answered: dict[str, float] = {}
    for attempt in deliverer.attempts:
        if attempt.ok and attempt.event_id in sessions.values():
            answered[attempt.event_id] = min(answered.get(attempt.event_id, math.inf), attempt.ended + wall)
    return max(o.created_at.timestamp() - answered[sessions[o.checkout_session_id]] for o in orders)


def _bursts(stripe_fake) -> tuple[list[dict], list[dict], list]:
    """Two bursts of the same size: one raising no alert, one raising HOT alerts (interleaved with calm sales)."""
    calm = stocked_product(stripe_fake, 4 * CALM_SALES, low_stock_threshold=1)
    hot = [stocked_product(stripe_fake, 3, low_stock_threshold=2) for _ in range(HOT)]
    quiet = [purchase(stripe_fake, calm, capture="automatic") for _ in range(CALM_SALES + HOT)]
    loud = [e for pair in zip([purchase(stripe_fake, p, capture="automatic") for p in hot],
                              [purchase(stripe_fake, calm, capture="automatic") for _ in range(CALM_SALES)])
            for e in pair]
    return quiet, loud, hot


def _assert_each_alert_sent_once(chat: ChatEndpoint, hot: list) -> None:
    alerts = set(LowStockAlert.objects.filter(product__in=hot).values_list("pk", flat=True))
    assert len(alerts) == HOT
    webhooks = LowStockAlertDelivery.objects.filter(alert__in=alerts, channel=WEBHOOK)
    assert wait_until(lambda: not webhooks.filter(sent_at__isnull=True).exists(), 60, interval=0.5), (
        list(webhooks.values_list("alert_id", "attempts", "failed_at", "last_error")))
    keys = sorted(r["key"] for r in chat.requests("ok") if r["key"].startswith("low-stock-alert-"))
    assert keys == sorted(f"low-stock-alert-{pk}" for pk in alerts)


def test_a_trickling_chat_endpoint_delays_no_sale_and_gets_each_alert_once(stripe_fake, stack, deliverer,
                                                                            chat_endpoints):
    # given: the chat service answers one byte every 2 s (its answer would take 30 s)
    chat = chat_endpoints("chat").start("trickle")
    _start_with_bulkheads(stack, chat.url)
    quiet, loud, hot = _bursts(stripe_fake)

    # when: a burst raising no alert, then one raising an alert per hot product
    without = _slowest_sale_seconds(deliverer, quiet)
    with_slow_endpoint = _slowest_sale_seconds(deliverer, loud)

    # then: the notify workers were stuck on the endpoint, and no sale waited for them
    assert wait_until(lambda: len(chat.requests("trickle")) >= 2, 30), chat.requests()
    assert with_slow_endpoint <= without + MARGIN_SECONDS, (
        f"slowest sale {with_slow_endpoint:.2f} s with the trickling endpoint, {without:.2f} s without")
    assert wait_until(lambda: LowStockAlertDelivery.objects.filter(
        channel=WEBHOOK, last_error__contains="no answer within the 3 s deadline").exists(), 30)

    # when: the chat service recovers
    chat.restart("ok")
    # then: each alert reaches it exactly once
    _assert_each_alert_sent_once(chat, hot)


def test_a_chat_endpoint_redirecting_to_loopback_is_never_followed(stripe_fake, stack, deliverer, chat_endpoints):
    # given: the chat service answers 307 to another service on 127.0.0.1
    target = chat_endpoints("internal").start("ok")
    chat = chat_endpoints("chat").start("redirect", redirect_to=target.url)
    _start_with_bulkheads(stack, chat.url)
    quiet, loud, hot = _bursts(stripe_fake)

    # when
    without = _slowest_sale_seconds(deliverer, quiet)
    with_redirects = _slowest_sale_seconds(deliverer, loud)

    # then: sales as quick, each send stopped at the redirect, nothing reached the redirect's target
    assert with_redirects <= without + MARGIN_SECONDS, (
        f"slowest sale {with_redirects:.2f} s with the redirecting endpoint, {without:.2f} s without")
    assert wait_until(lambda: LowStockAlertDelivery.objects.filter(
        channel=WEBHOOK, last_error__contains="(a redirect): not followed").count() == HOT, 30)
    assert target.requests() == []

    # when: the chat service answers again
    chat.restart("ok")
    # then
    _assert_each_alert_sent_once(chat, hot)
    assert target.requests() == []
