"""Fault tests: each starts what it breaks (its own redis-server, web process, Celery workers and
beat, on the test database and the Stripe fake) and stops only that, however the test ends.
On failure every process's log is printed (teardown section of the report).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/swagstore_faults SWAGSTORE_BROWSER_TESTS=0 \
        bin/test tests/faults -q
"""

import pytest

from payments.endpoints import webhook_endpoint_configure, webhook_endpoint_path
from tests.faults.database import database_url
from tests.faults.delivery import Deliverer
from tests.faults.processes import AppStack, PrivateRedis, Processes

WEBHOOK_SECRET = "whsec_test_faults"


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    setattr(item, f"_faults_{report.when}_failed", report.failed)
    return report


@pytest.fixture
def processes(request, transactional_db, tmp_path):
    """Every process the test starts; all stopped before the database is flushed."""
    procs = Processes(tmp_path / "logs")
    try:
        yield procs
    finally:
        status = procs.status()
        procs.stop_all()
        if getattr(request.node, "_faults_setup_failed", False) or getattr(request.node, "_faults_call_failed", False):
            print(f"processes when the test ended:\n{status}\n{procs.logs()}")


@pytest.fixture
def private_redis(processes) -> PrivateRedis:
    redis = PrivateRedis(processes)
    redis.start()
    return redis


@pytest.fixture
def stack(processes, private_redis, stripe_fake, tmp_path) -> AppStack:
    """Nothing started yet: the test says which of web, workers and beat it wants (`stack.start`)."""
    return AppStack(processes, redis_url=private_redis.url, stripe_url=stripe_fake.base_url,
                    database_url=database_url(), state_dir=tmp_path)


@pytest.fixture
def deliverer(stack):
    """Stripe delivering to the stack's web process, at the endpoint signed with WEBHOOK_SECRET."""
    endpoint, _ = webhook_endpoint_configure(secret=WEBHOOK_SECRET, site_url=stack.url)
    url = stack.url + webhook_endpoint_path(endpoint)
    deliveries = Deliverer(url, WEBHOOK_SECRET)
    try:
        yield deliveries
    finally:
        deliveries.close()
