"""The worker's PostgreSQL connection terminated in the middle of a batch, again and again while a
backlog drains: each batch rolls back whole and is redone; every purchase applied exactly once."""

import time

import pytest

from tests.faults.checks import Burst, assert_settled_exactly_once, describe, wait_settled
from tests.faults.database import backends, product_row_locked, terminate
from tests.faults.processes import wait_until
from tests.payments.helpers import stocked_product

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

STOCK = 8
PURCHASES = 80
LOCKED_KILLS = 3  # batches killed while waiting on the product row, inside their transaction
LOOSE_KILL_SECONDS = 3.0  # then: any transaction of the worker's, killed as the backlog drains
SETTLE_SECONDS = 30


def test_worker_connection_killed_mid_batch_is_rolled_back_and_redone(stripe_fake, stack, deliverer):
    # given: web, beat and one worker; 8 units and 80 buyers
    stack.start(web=True, workers=1, beat=True)
    burst = Burst.prepare(stripe_fake, stocked_product(stripe_fake, STOCK), PURCHASES)
    since = len(stripe_fake.requests)
    worker = stack.workers[0].app_name

    # when: the worker's connection is terminated each time its batch waits on the held product row
    with product_row_locked(burst.product.pk):
        deliveries = deliverer.send(burst.events)
        killed: set[int] = set()
        for round_ in range(LOCKED_KILLS):
            # (a terminated backend lingers in pg_stat_activity for a moment: wait for a new one)
            assert wait_until(lambda: set(backends(worker, waiting_on_lock=True)) - killed, 20), (
                f"kill {round_ + 1}: the worker did not come back to the batch within 20 s\n"
                f"{describe(stripe_fake, [burst])}\nprocesses:\n{stack.processes.status()}")
            batch = sorted(set(backends(worker, waiting_on_lock=True)) - killed)
            assert terminate(worker, batch) >= 1
            killed.update(batch)
    # ... then, with the row free, whatever transaction it has open as the backlog drains
    loose_kills = _terminate_transactions_for(worker, LOOSE_KILL_SECONDS)
    undelivered, done = wait_settled(stripe_fake, [burst], deliverer, deliveries, seconds=SETTLE_SECONDS)

    # then
    assert_settled_exactly_once(
        stripe_fake, [burst], undelivered=undelivered, done=done, since=since, deliverer=deliverer, stack=stack,
        when=f"{SETTLE_SECONDS}s after the last kill ({LOCKED_KILLS} + {loose_kills})")


def _terminate_transactions_for(app_name: str, seconds: float) -> int:
    killed, deadline = 0, time.monotonic() + seconds
    while time.monotonic() < deadline:
        killed += terminate(app_name, backends(app_name, in_transaction=True))
        time.sleep(0.05)
    return killed
