"""System checks: production must never fall back to the offline gateway.

Without STRIPE_SECRET_KEY the gateway is the offline one, whose test card "pays" for real stock;
that is the demo's whole point and a free shop anywhere else. Settings that set
STRIPE_OFFLINE_ALLOWED = False (the production settings) therefore fail `manage.py check` (and so
`check --deploy`) without a key, and the web process refuses to start (swagstore/asgi.py).
"""

from django.conf import settings
from django.core import checks
from django.core.exceptions import ImproperlyConfigured


@checks.register("payments")
def stripe_key_required(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    if settings.STRIPE_OFFLINE_ALLOWED or settings.STRIPE_SECRET_KEY:
        return []
    return [checks.Error("STRIPE_SECRET_KEY is not set, and these settings do not allow the offline gateway.",
                         hint="Set STRIPE_SECRET_KEY (sk_live_… or sk_test_…); only the demo runs without it.",
                         id="payments.E001")]


def refuse_to_start_misconfigured() -> None:
    """Daphne runs no system checks itself: the ASGI application calls this before serving."""
    if errors := stripe_key_required():
        raise ImproperlyConfigured("; ".join(f"{e.id}: {e.msg}" for e in errors))
