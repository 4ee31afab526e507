"""Stripe answering 500, then 429, then too slowly (longer than the 2 s client timeout) for a while
on refunds, cancels, captures and Payment Link updates: once it recovers, each happens exactly
once, and every Payment Link ends active or not as its stock says."""

import time

import pytest

from tests.faults.checks import SIDE_EFFECTS, Burst, assert_settled_exactly_once, calls_since, wait_settled
from tests.payments.helpers import stocked_product

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

OUTAGE = [(500, 2.5), (429, 2.5), ("stall", 3.5)]  # what Stripe answers, and for how long
STALL_SECONDS = 3  # > STRIPE_TIMEOUT_SECONDS=2: Stripe acts, the answer never arrives in time
SETTLE_SECONDS = 45


def test_stripe_failing_for_a_while_then_each_side_effect_happens_once(stripe_fake, stack, deliverer):
    # given: web, a worker and beat; one product that sells out, one that keeps stock
    stack.start(web=True, workers=1, beat=True)
    sells_out = Burst.prepare(stripe_fake, stocked_product(stripe_fake, 4), 14)
    keeps_stock = Burst.prepare(stripe_fake, stocked_product(stripe_fake, 10), 4)
    bursts = [sells_out, keeps_stock]
    since = len(stripe_fake.requests)

    # when: the purchases arrive as Stripe starts failing every side effect, one way after another
    deliveries = deliverer.send(sells_out.events + keeps_stock.events)
    windows = _stripe_outage(stripe_fake)
    undelivered, done = wait_settled(stripe_fake, bursts, deliverer, deliveries, seconds=SETTLE_SECONDS)

    # then: the faults were met, and each side effect still happened exactly once
    _assert_faults_were_met(stripe_fake, windows)
    assert_settled_exactly_once(stripe_fake, bursts, undelivered=undelivered, done=done, since=since,
                                deliverer=deliverer, stack=stack, when=f"{SETTLE_SECONDS}s after Stripe recovered")


def _stripe_outage(fake) -> dict:
    """Each kind of failure in turn on every side-effect path; returns each kind's window as
    indexes into the fake's request log."""
    windows = {}
    try:
        for kind, seconds in OUTAGE:
            start = len(fake.requests)
            for path in SIDE_EFFECTS:
                if kind == "stall":
                    fake.stall_next("POST", path, seconds=STALL_SECONDS, times=None)
                else:
                    fake.fail_next("POST", path, status=kind, times=None)
            time.sleep(seconds)
            fake.clear_faults()
            windows[kind] = (start, len(fake.requests))
    finally:
        fake.clear_faults()
    return windows


def _assert_faults_were_met(fake, windows: dict) -> None:
    met = {kind: len(calls_since(fake, start, "POST", *SIDE_EFFECTS)) - len(
        calls_since(fake, end, "POST", *SIDE_EFFECTS)) for kind, (start, end) in windows.items()}
    assert all(met.values()), f"side-effect calls per failure kind: {met} (each kind should be met)"
