"""The one door to Stripe. Everything else calls `get_gateway()` and passes ids.

With STRIPE_SECRET_KEY set, calls go to Stripe (or to STRIPE_API_BASE, e.g. a local stand-in).
Without it the gateway is the offline one (payments.offline): like Django's console e-mail backend
it records each call it would have made and answers from its own notebook, never claiming to have
reached Stripe. Live code never asks which one it has.
"""

from functools import lru_cache

import stripe
from django.conf import settings

from .errors import GatewayError, GatewayRejected, GatewayUnavailable
from .live import LiveGateway

__all__ = ["GatewayError", "GatewayRejected", "GatewayUnavailable", "get_gateway", "gateway_is_offline",
           "webhook_signature_header"]


def get_gateway():
    if not settings.STRIPE_SECRET_KEY and not settings.STRIPE_OFFLINE_ALLOWED:
        # Production without a key: refuse every payment rather than let the offline notebook "pay".
        raise GatewayUnavailable("Payments are not configured (no STRIPE_SECRET_KEY).")
    return _gateway(settings.STRIPE_SECRET_KEY, settings.STRIPE_API_BASE, settings.STRIPE_TIMEOUT_SECONDS,
                    settings.STRIPE_API_VERSION)


def gateway_is_offline() -> bool:
    """True without a Stripe key where settings allow it: the demo's offline pay pages and simulator may run."""
    return not settings.STRIPE_SECRET_KEY and settings.STRIPE_OFFLINE_ALLOWED


@lru_cache(maxsize=4)
def _gateway(api_key: str, api_base: str, timeout: float, api_version: str):
    if not api_key:
        # Here, not at the top: payments.offline builds on this package (calls, errors), and live
        # processes never load the offline notebook.
        from ..offline.gateway import OfflineGateway

        return OfflineGateway()
    return LiveGateway(api_key=api_key, api_version=api_version, api_base=api_base, timeout=timeout)


def webhook_signature_header(payload: str, secret: str, timestamp: int) -> str:
    """A Stripe-Signature header value, computed as Stripe does (for simulate_purchase and tests)."""
    signature = stripe.WebhookSignature._compute_signature(f"{timestamp}.{payload}", secret)
    return f"t={timestamp},v1={signature}"
