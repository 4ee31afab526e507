"""A worker SIGKILLed in the middle of a batch (its transaction open, waiting on the product row)
while a burst is delivered: a new worker applies every purchase exactly once."""

import pytest

from tests.faults.checks import Burst, assert_settled_exactly_once, describe, wait_settled
from tests.faults.database import backends, product_row_locked
from tests.faults.processes import wait_until
from tests.payments.helpers import stocked_product

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

STOCK = 6
PURCHASES = 60
SETTLE_SECONDS = 30


def test_worker_killed_mid_batch_and_replaced_loses_no_purchase(stripe_fake, stack, deliverer):
    # given: web, beat and one worker; 6 units and 60 buyers
    stack.start(web=True, workers=1, beat=True)
    burst = Burst.prepare(stripe_fake, stocked_product(stripe_fake, STOCK), PURCHASES)
    since = len(stripe_fake.requests)
    doomed = stack.workers[0]

    # when: the burst arrives while the product row is held, so the worker's batch stops mid-way,
    # inside its transaction; the worker is SIGKILLed right there
    with product_row_locked(burst.product.pk):
        deliveries = deliverer.send(burst.events)
        assert wait_until(lambda: backends(doomed.app_name, waiting_on_lock=True), 30), (
            f"the worker never reached the product row: {describe(stripe_fake, [burst])}\n"
            f"processes:\n{stack.processes.status()}")
        doomed.kill()
    # (the lock is released: the dead worker's transaction now rolls back)
    stack.start_worker()
    undelivered, done = wait_settled(stripe_fake, [burst], deliverer, deliveries, seconds=SETTLE_SECONDS)

    # then
    assert_settled_exactly_once(
        stripe_fake, [burst], undelivered=undelivered, done=done, since=since, deliverer=deliverer, stack=stack,
        when=f"{SETTLE_SECONDS}s after the new worker started")
