"""Redis dies mid-burst and comes back empty on the same port: no purchase is lost or doubled,
and the webhook keeps answering 2xx while Redis is away (PostgreSQL is the intake)."""

import time

import pytest

from tests.faults.checks import Burst, assert_applied_exactly_once, describe, settled
from tests.faults.processes import wait_until
from tests.payments.helpers import stocked_product

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

STOCK = 5
BEFORE, DURING, AFTER = 24, 16, 20  # purchases delivered before, while and after Redis is away
OUTAGE_SECONDS = 5
SETTLE_SECONDS = 30


def test_redis_stopped_mid_burst_and_started_again_loses_no_purchase(stripe_fake, private_redis, stack,
                                                                      deliverer):
    # given: web, a worker and beat on a private Redis; 5 units and 60 buyers
    stack.start(web=True, workers=1, beat=True)
    burst = Burst.prepare(stripe_fake, stocked_product(stripe_fake, STOCK), BEFORE + DURING + AFTER)
    since = len(stripe_fake.requests)
    before, during, after = (burst.events[:BEFORE], burst.events[BEFORE:BEFORE + DURING],
                             burst.events[BEFORE + DURING:])

    # when: Redis is SIGKILLed while the first deliveries are still being answered and worked on
    first = deliverer.send(before)
    assert wait_until(lambda: sum(f.done() for f in first) >= BEFORE // 2, 30), deliverer.summary()
    private_redis.kill()
    down_at = time.monotonic()
    # ... more purchases arrive while it is away ...
    undelivered = deliverer.wait(first + deliverer.send(during), timeout=40)
    time.sleep(max(0.0, down_at + OUTAGE_SECONDS - time.monotonic()))
    up_at = time.monotonic()
    private_redis.start()  # same port, empty
    # ... and the rest once it is back
    undelivered += deliverer.wait(deliverer.send(after), timeout=30)
    done = wait_until(lambda: settled(stripe_fake, [burst]), SETTLE_SECONDS - (time.monotonic() - up_at),
                      interval=0.5)

    # then: the webhook took every purchase while Redis was away, and each purchase was applied
    # exactly once within 30 s of Redis returning
    outage = deliverer.attempts_between(down_at, up_at)
    problems = []
    if not outage or not all(a.ok for a in outage):
        refused = [str(a) for a in outage if not a.ok]
        problems.append(f"the webhook answered non-2xx while Redis was down ({len(refused)} of {len(outage)} "
                        f"attempts), e.g. {refused[:5]}")
    if undelivered:
        problems.append(f"deliveries never answered 2xx: {undelivered[:5]}; {deliverer.summary()}")
    if not done:
        problems.append(f"not settled {SETTLE_SECONDS}s after Redis returned:\n{describe(stripe_fake, [burst])}\n"
                        f"processes:\n{stack.processes.status()}")
    assert not problems, "\n".join(problems)
    assert_applied_exactly_once(stripe_fake, [burst], since=since)
