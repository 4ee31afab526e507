"""A QR buyer's held checkout: hold the units first, then one Stripe Checkout Session for exactly them.

A buyer is sent to Stripe only once their units are held, so in a burst for the last units the
others are turned away before they pay: no refunds, no cancelled authorisations. Our hold is
short (HELD_CHECKOUT_HOLD_MINUTES) but Stripe keeps a session payable for at least 30 minutes, so
the units stay reserved until Stripe's own deadline (plus a margin): a hold is released only when
Stripe says its session can no longer complete (payments/fulfilment/held.py decides; the sweeper
expires lapsed sessions through settlement).
"""

import logging
from datetime import timedelta

from django.conf import settings
from django.core.signing import Signer
from django.urls import reverse
from django.utils import timezone
from django.utils.crypto import constant_time_compare
from django.utils.http import urlencode

from common.buyers import Buyer
from inventory.models import Product

from ..gateway import GatewayError, GatewayRejected, get_gateway
from ..models import Checkout
from .services import CheckoutRefused, CheckoutRequestLine, checkout_release, checkout_reserve

log = logging.getLogger(__name__)


class NotOnSale(CheckoutRefused):
    """Staff switched the product's sales off, or it has no price."""


class SessionWithoutPaymentPage(GatewayRejected):
    """Stripe created the session without a `url` (the spec allows it): nothing to send the buyer to."""


def held_checkout_start(*, product: Product, quantity: int, buyer: Buyer, challenge_solved: bool = False) -> Checkout:
    """Hold `quantity` units of `product` for this buyer, then create their Checkout Session.

    Raises NotOnSale or CheckoutRefused (bad quantity), TooManyOpenCheckouts or ChallengeRequired,
    InsufficientStock (nothing held, no session), or GatewayError (the hold is released again; no
    session exists, or SessionWithoutPaymentPage: one without a page, expired at once).
    """
    if not product.on_sale or product.unit_amount <= 0:
        raise NotOnSale(f"{product.display_name} is not on sale right now.")
    if not 1 <= quantity <= product.max_per_checkout:
        raise CheckoutRefused(f"Choose between 1 and {product.max_per_checkout} of {product.display_name}.")
    now = timezone.now()
    session_until = now + timedelta(minutes=settings.HELD_CHECKOUT_SESSION_MINUTES)
    checkout = checkout_reserve(
        lines=[CheckoutRequestLine(product.pk, quantity)], buyer=buyer, challenge_solved=challenge_solved,
        expires_at=now + timedelta(minutes=settings.HELD_CHECKOUT_HOLD_MINUTES),
        units_held_until=session_until + timedelta(minutes=settings.HELD_CHECKOUT_GRACE_MINUTES))
    try:
        session = get_gateway().checkout_session_create(
            params=_session_params(checkout, product, quantity, session_until),
            idempotency_key=f"session:checkout:{checkout.pk}")
        _payment_page_or_refuse(checkout, session)
    except GatewayError as exc:
        checkout_release(checkout_id=checkout.pk, status=Checkout.Status.FAILED,
                         note=f"Could not open Stripe's payment page: {exc}")
        raise
    Checkout.objects.filter(pk=checkout.pk).update(checkout_session_id=session["id"], session_url=session["url"],
                                                   session_expires_at=session_until)
    checkout.refresh_from_db()
    return checkout


def _payment_page_or_refuse(checkout: Checkout, session: dict) -> None:
    """Stripe's spec marks a session's `url` nullable: without one there is no page to send the buyer to,
    so the session is expired at once (nobody can pay it) and the caller releases the hold."""
    if session.get("url"):
        return
    Checkout.objects.filter(pk=checkout.pk).update(checkout_session_id=session["id"])
    try:
        get_gateway().checkout_session_expire(session["id"], idempotency_key=f"expire:checkout:{checkout.pk}")
    except GatewayError as exc:
        # Nobody has its address; if Stripe still took a payment, its event finds no hold and is refunded.
        log.warning("checkout %s: session %s without url not expired: %s", checkout.pk, session["id"], exc)
    raise SessionWithoutPaymentPage("Stripe opened the payment without a page to pay on",
                                    code="checkout_session_without_url")


def _session_params(checkout: Checkout, product: Product, quantity: int, session_until) -> dict:
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
        "client_reference_id": str(checkout.pk),
        "metadata": {"checkout": str(checkout.pk), **what},
        # "hold", not "checkout": the session's events decide a held checkout, and its intent's
        # events need no FOLLOW job (and Stripe read) of their own.
        "payment_intent_data": {"capture_method": product.store.capture_method,
                                "metadata": {"hold": str(checkout.pk), **what}},
        "success_url": settings.SITE_URL + reverse("payments:checkout_page", kwargs={"checkout_id": checkout.pk})
                       + "?from=stripe",
        "cancel_url": settings.SITE_URL + held_checkout_leave_url(checkout.pk),
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
