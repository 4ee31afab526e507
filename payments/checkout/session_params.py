"""What a held checkout's Checkout Session asks Stripe for: the one definition, for a session made
when a buyer asks (held.py) and for one made ahead (session_pool.py)."""

from datetime import datetime

from django.conf import settings
from django.core.signing import Signer
from django.urls import reverse
from django.utils.crypto import constant_time_compare
from django.utils.http import urlencode

from inventory.models import Product


def held_session_params(*, checkout_id, product: Product, quantity: int, session_until: datetime) -> dict:
    """A payment-mode session for `quantity` of `product`, naming checkout `checkout_id` everywhere
    Stripe tells us about it, open until `session_until`."""
    # Stripe's price when the product has one; else our price, on the Stripe product.
    line = ({"price": product.stripe_price_id, "quantity": quantity} if product.stripe_price_id else
            {"price_data": {"currency": product.currency, "unit_amount": product.unit_amount,
                            "product": product.stripe_product_id}, "quantity": quantity})
    what = {"store_id": product.store_id, "product": product.stripe_product_id, "price": product.stripe_price_id,
            "quantity": str(quantity)}
    return {
        "mode": "payment",
        "line_items": [line],
        "expires_at": int(session_until.timestamp()),
        "client_reference_id": str(checkout_id),
        "metadata": {"checkout": str(checkout_id), **what},
        # "hold", not "checkout": the session's events decide a held checkout, and its intent's
        # events need no FOLLOW job (and Stripe read) of their own.
        "payment_intent_data": {"capture_method": product.store.capture_method,
                                "metadata": {"hold": str(checkout_id), **what}},
        "success_url": settings.SITE_URL + reverse("payments:checkout_page", kwargs={"checkout_id": checkout_id})
                       + "?from=stripe",
        "cancel_url": settings.SITE_URL + held_checkout_leave_url(checkout_id),
    }


def held_checkout_leave_url(checkout_id) -> str:
    """The path that lets a held checkout's buyer leave it: signed, so a stranger who learns the
    checkout's id (staff see every id) cannot cancel someone else's hold."""
    url = reverse("payments:held_checkout_leave", kwargs={"checkout_id": checkout_id})
    return f"{url}?{urlencode({'token': _leave_signer().signature(str(checkout_id))})}"


def held_checkout_leave_token_valid(*, checkout_id, token: str) -> bool:
    return constant_time_compare(token, _leave_signer().signature(str(checkout_id)))


def _leave_signer() -> Signer:
    return Signer(salt="swagstore.held-checkout-leave")
