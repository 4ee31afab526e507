"""Shared fixtures: the webhook endpoint, the Stripe stand-in (and localstripe behind it)."""

import pytest
from django.urls import reverse

from payments.endpoints import webhook_endpoint_configure
from tests.localstripe_server import LocalStripe
from tests.stripe_events import body_of, stripe_signature
from tests.stripe_standin import StripeStandIn

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
        body = event if isinstance(event, str) else body_of(event)
        headers = {}
        if signature is not False:
            headers["HTTP_STRIPE_SIGNATURE"] = signature or stripe_signature(
                body, secret or self.secret, timestamp=timestamp)
        return client.post(self.url, data=body, content_type="application/json", **headers)


@pytest.fixture
def webhook(db):
    endpoint, _ = webhook_endpoint_configure(secret=WEBHOOK_SECRET, site_url="http://testserver")
    return Webhook(endpoint, WEBHOOK_SECRET)


@pytest.fixture(scope="session")
def localstripe_url():
    with LocalStripe() as url:
        yield url


@pytest.fixture(scope="session")
def _standin_server(localstripe_url):
    with StripeStandIn(upstream=localstripe_url) as standin:
        yield standin


@pytest.fixture
def stripe_standin(_standin_server, settings):
    """The Stripe stand-in, fresh for this test, with the live gateway pointed at it."""
    _standin_server.reset()
    settings.STRIPE_SECRET_KEY = "sk_test_standin"
    settings.STRIPE_API_BASE = _standin_server.base_url
    settings.STRIPE_TIMEOUT_SECONDS = 2.0
    yield _standin_server
