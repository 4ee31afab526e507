"""Stripe answering 500, then 429, then too slowly (longer than the 2 s client timeout) for a while
on refunds, cancels, captures and Payment Link updates: once it recovers, each happens exactly
once, and every Payment Link ends active or not as its stock says."""

import time

import pytest

from tests.faults.checks import (SIDE_EFFECTS, Burst, assert_applied_exactly_once, calls_since, describe,
                                 settled)
from tests.faults.processes import wait_until
from tests.payments.helpers import stocked_product

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

OUTAGE = [(500, 2.5), (429, 2.5), ("stall", 3.5)]  # what Stripe answers, and for how long
STALL_SECONDS = 3  # > STRIPE_TIMEOUT_SECONDS=2: Stripe acts, the answer never arrives in time
SETTLE_SECONDS = 45


def test_stripe_failing_for_a_while_then_each_side_effect_happens_once(stripe_standin, stack, deliverer):
    # given: web, a worker and beat; one product that sells out, one that keeps stock
    stack.start(web=True, workers=1, beat=True)
    sells_out = Burst.prepare(stripe_standin, stocked_product(stripe_standin, 4), 14)
    keeps_stock = Burst.prepare(stripe_standin, stocked_product(stripe_standin, 10), 4)
    bursts = [sells_out, keeps_stock]
    since = len(stripe_standin.requests)

    # when: the purchases arrive as Stripe starts failing every side effect, one way after another
    deliveries = deliverer.send(sells_out.events + keeps_stock.events)
    windows = _stripe_outage(stripe_standin)
    undelivered = deliverer.wait(deliveries, timeout=SETTLE_SECONDS)
    done = wait_until(lambda: settled(stripe_standin, bursts), SETTLE_SECONDS, interval=0.5)

    # then: the faults were met, and each side effect still happened exactly once
    assert undelivered == [], f"deliveries never answered 2xx: {undelivered[:5]}; {deliverer.summary()}"
    _assert_faults_were_met(stripe_standin, windows)
    assert done, (f"not settled {SETTLE_SECONDS}s after Stripe recovered:\n{describe(stripe_standin, bursts)}\n"
                  f"processes:\n{stack.processes.status()}")
    assert_applied_exactly_once(stripe_standin, bursts, since=since)


def _stripe_outage(standin) -> dict:
    """Each kind of failure in turn on every side-effect path; returns each kind's window as
    indexes into the stand-in's request log."""
    windows = {}
    try:
        for kind, seconds in OUTAGE:
            start = len(standin.requests)
            for path in SIDE_EFFECTS:
                if kind == "stall":
                    standin.stall_next("POST", path, seconds=STALL_SECONDS, times=None)
                else:
                    standin.fail_next("POST", path, status=kind, times=None)
            time.sleep(seconds)
            _clear_faults(standin)
            windows[kind] = (start, len(standin.requests))
    finally:
        _clear_faults(standin)
    return windows


def _clear_faults(standin) -> None:
    # The stand-in removes a fault only once used up; "for a while" needs ending one by hand.
    with standin._lock:
        standin._faults.clear()


def _assert_faults_were_met(standin, windows: dict) -> None:
    met = {kind: len(calls_since(standin, start, "POST", *SIDE_EFFECTS)) - len(
        calls_since(standin, end, "POST", *SIDE_EFFECTS)) for kind, (start, end) in windows.items()}
    assert all(met.values()), f"side-effect calls per failure kind: {met} (each kind should be met)"
