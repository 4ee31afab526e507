"""A QR buyer's held checkout: hold the units first, then one Stripe Checkout Session for exactly them.

A buyer is sent to Stripe only once their units are held, so in a burst for the last units the
others are turned away before they pay: no refunds, no cancelled authorisations. Our hold is
short (CHECKOUT_HOLD_MINUTES) but Stripe keeps a session payable for at least 30 minutes, so
the units stay reserved until Stripe's own deadline (plus a margin): a hold is released only when
Stripe says its session can no longer complete (payments/fulfilment/held.py decides; the sweeper
expires lapsed sessions through settlement).

The session is usually ready before the buyer asks (session_pool.py): the hold is taken and the
pooled session handed out, with no Stripe call in the buyer's wait. Without one ready, it is
created here, after the hold.
"""

import logging
from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from common.buyers import Buyer
from inventory.exceptions import InsufficientStock, Shortfall
from inventory.models import Product

from ..gateway import GatewayError, GatewayRejected, get_gateway
from ..models import Checkout
from .services import CheckoutRefused, CheckoutRequestLine, checkout_release, checkout_reserve
from .session_params import held_session_params
from .session_pool import session_pool_claimer

log = logging.getLogger(__name__)


class NotOnSale(CheckoutRefused):
    """Staff switched the product's sales off, or it has no price."""


class SessionWithoutPaymentPage(GatewayRejected):
    """Stripe created the session without a `url` (the spec allows it): nothing to send the buyer to."""


def held_checkout_start(*, product: Product, quantity: int, buyer: Buyer, challenge_solved: bool = False) -> Checkout:
    """Hold `quantity` units of `product` (read with its availability) for this buyer, then send
    them to a Checkout Session: a pooled one, else one created now.

    Raises NotOnSale or CheckoutRefused (bad quantity), TooManyOpenCheckouts or ChallengeRequired,
    InsufficientStock (nothing held, no session, no Stripe call), or GatewayError (the hold is
    released again; no session exists, or SessionWithoutPaymentPage: one without a page, expired at once).
    """
    if not product.on_sale or product.unit_amount <= 0:
        raise NotOnSale(f"{product.display_name} is not on sale right now.")
    if not 1 <= quantity <= product.max_per_checkout:
        raise CheckoutRefused(f"Choose between 1 and {product.max_per_checkout} of {product.display_name}.")
    if product.available < quantity:
        # What the scan read a moment ago is answer enough for a buyer who cannot get the units: the
        # rush's many are turned away without a lock, a write or a Stripe call.
        raise InsufficientStock([Shortfall(product_id=product.pk, product_name=product.display_name,
                                           requested=quantity, available=product.available)])
    now = timezone.now()
    session_until = now + timedelta(minutes=settings.HELD_CHECKOUT_SESSION_MINUTES)
    checkout = checkout_reserve(
        lines=[CheckoutRequestLine(product.pk, quantity)], buyer=buyer, challenge_solved=challenge_solved,
        expires_at=now + timedelta(minutes=settings.CHECKOUT_HOLD_MINUTES),
        units_held_until=session_until + timedelta(minutes=settings.HELD_CHECKOUT_GRACE_MINUTES), products=[product],
        ready_session=session_pool_claimer(product=product, quantity=quantity))
    if checkout.checkout_session_id:  # a pooled session: Stripe was asked long before this buyer came
        return checkout
    return _open_session(checkout, product, quantity, session_until)


def _open_session(checkout: Checkout, product: Product, quantity: int, session_until) -> Checkout:
    try:
        session = get_gateway().checkout_session_create(
            params=held_session_params(checkout_id=checkout.pk, product=product, quantity=quantity,
                                       session_until=session_until),
            idempotency_key=f"session:checkout:{checkout.pk}")
        _payment_page_or_refuse(checkout, session)
    except GatewayError as exc:
        checkout_release(checkout_id=checkout.pk, status=Checkout.Status.FAILED,
                         note=f"Could not open Stripe's payment page: {exc}")
        raise
    Checkout.objects.filter(pk=checkout.pk).update(checkout_session_id=session["id"], session_url=session["url"],
                                                   session_expires_at=session_until)
    checkout.checkout_session_id, checkout.session_url = session["id"], session["url"]
    checkout.session_expires_at = session_until
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
