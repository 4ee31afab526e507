"""The Stripe fake on its own, through the real SDK (no Django needed)."""

import pytest
import stripe

from tests.fakes.stripe import StripeFake


@pytest.fixture(scope="session")
def server():
    with StripeFake() as fake:
        yield fake


@pytest.fixture
def fake(server):
    """The fake, fresh; a request it refuses by Stripe's spec fails the test unless expected."""
    server.reset()
    yield server
    assert server.unreported_violations() == []


@pytest.fixture
def client(fake):
    return stripe.StripeClient("sk_test_fake", base_addresses={"api": fake.base_url}, max_network_retries=0)
