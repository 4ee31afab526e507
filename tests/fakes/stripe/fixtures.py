"""The fake as pytest fixtures (a plugin of tests/conftest.py).

``stripe_fake``: one server per test session, reset for each test, with the live gateway pointed at it
(``settings.STRIPE_API_BASE``). A test during which the fake received a request Stripe's spec refuses
fails, listing each such request (unless it was expected: ``fake.expect_violation()``).
``stripe_standin`` is the same fixture under its earlier name.
"""

from __future__ import annotations

import pytest

from .server import StripeFake, describe_violation


@pytest.fixture(scope="session")
def _stripe_fake_server():
    with StripeFake() as fake:
        yield fake


@pytest.fixture
def stripe_fake(_stripe_fake_server, settings):
    """The Stripe fake, fresh for this test, with the live gateway pointed at it."""
    fake = _stripe_fake_server
    fake.reset()
    settings.STRIPE_SECRET_KEY = "sk_test_fake"
    settings.STRIPE_API_BASE = fake.base_url
    settings.STRIPE_TIMEOUT_SECONDS = 2.0
    yield fake
    assert_no_violations(fake)  # what came after the test body, from its fixtures' teardown


@pytest.fixture
def stripe_standin(stripe_fake):
    return stripe_fake


def assert_no_violations(fake: StripeFake) -> None:
    """Fail on the violations not reported yet."""
    new = fake.unreported_violations()
    if new:
        listed = "\n".join(f"  {describe_violation(v)}" for v in new)
        pytest.fail(f"{len(new)} request(s) to the Stripe fake that Stripe's API spec refuses:\n{listed}",
                    pytrace=False)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item):
    """Fail the test itself (not only its teardown) when its requests broke Stripe's spec."""
    result = yield
    fake = getattr(item, "funcargs", {}).get("stripe_fake")
    if fake is not None:
        assert_no_violations(fake)
    return result
