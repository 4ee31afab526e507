"""Shared fixtures: the webhook endpoint, the Stripe fake (tests/fakes/stripe), the factories."""

import pytest
from celery.result import _set_task_join_will_block
from django.urls import reverse

from payments.endpoints import webhook_endpoint_configure
from tests.fakes.stripe import events

# The factories (make_store, make_product), and the Stripe fake's fixtures with the hook that fails a
# test whose requests Stripe's API spec refuses.
pytest_plugins = ["tests.factories", "tests.fakes.stripe.fixtures"]

WEBHOOK_SECRET = "whsec_test_swagstore"


@pytest.fixture(scope="session", autouse=True)
def _empty_reused_database(django_db_setup, django_db_blocker):
    """The test database is kept between runs (--reuse-db); a run that was killed may have left
    rows behind, so every session starts from empty tables."""
    from django.core.management import call_command
    from django.db import connection

    # pytest-django skips creating the test database when no collected test uses it.
    if not connection.settings_dict["NAME"].startswith("test_"):
        return
    with django_db_blocker.unblock():
        call_command("flush", interactive=False, verbosity=0)


class Webhook:
    """Posts events to dj-stripe's endpoint URL exactly as Stripe would."""

    def __init__(self, endpoint, secret: str):
        self.secret = secret
        self.url = reverse("djstripe:djstripe_webhook_by_uuid", kwargs={"uuid": endpoint.djstripe_uuid})

    def post(self, client, event: dict | str, *, signature: str | None = None, secret: str | None = None,
             timestamp: int | None = None):
        body = event if isinstance(event, str) else events.body_of(event)
        headers = {}
        if signature is not False:
            headers["HTTP_STRIPE_SIGNATURE"] = signature or events.signature(
                body, secret or self.secret, timestamp=timestamp)
        return client.post(self.url, data=body, content_type="application/json", **headers)


@pytest.fixture
def webhook(db):
    endpoint, _ = webhook_endpoint_configure(secret=WEBHOOK_SECRET, site_url="http://testserver")
    return Webhook(endpoint, WEBHOOK_SECRET)


@pytest.fixture
def stripe_offline(settings):
    """No Stripe key: the offline gateway (the demo's) answers; a test may still bring in ``stripe_fake``."""
    settings.STRIPE_SECRET_KEY = ""


@pytest.fixture
def eager_tasks_in_threads():
    """Celery's "no result.get() inside a task" guard is one process-wide flag that each eager task
    sets and restores; eager tasks in concurrent threads can restore it out of order and leave it
    set, failing a later test's .get(). Clear it once the threads are done."""
    yield
    _set_task_join_will_block(False)
