"""Our own checkout: hold the units, then take an authorisation, then capture once the units are sold.

Money is never taken for stock we do not hold: a checkout starts only when every line can be
reserved (no PaymentIntent is created otherwise), and an authorisation that arrives after the
hold ran out and the stock went is cancelled, never captured.
"""

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from common import metrics, words
from common.buyers import Buyer
from inventory import selectors as inventory_selectors
from inventory.exceptions import InsufficientStock
from inventory.locks import products_lock_for_hold
from inventory.models import Product
from inventory.services import (StockLine, reservation_release, stock_decrease_lines, stock_increase,
                                stock_reserve_lines)

from .broadcast import checkout_broadcast_on_commit
from .limits import buyer_holds_check
from ..gateway import GatewayError, get_gateway
from ..models import Checkout, CheckoutLine


class CheckoutRefused(ValueError):
    """A checkout request that cannot be served as asked (mixed stores or currencies)."""


@dataclass(frozen=True)
class CheckoutRequestLine:
    product_id: int
    quantity: int


OPEN = (Checkout.Status.RESERVED, Checkout.Status.EXPIRED)


def checkout_start(*, lines: list[CheckoutRequestLine], buyer: Buyer, email: str = "",
                   challenge_solved: bool = False) -> Checkout:
    """Reserve every line (all or none), then create a manual-capture PaymentIntent for it.

    `buyer` is the browser and its address; every buyer, even one without a cookie, is capped.
    Raises InsufficientStock (nothing held, no PaymentIntent), TooManyOpenCheckouts or
    ChallengeRequired (past payments.checkout.limits), CheckoutRefused, or GatewayError (the hold
    is released again). Locks: the address and the buyer (advisory), then the products, through
    stock_reserve_lines.
    """
    expires_at = timezone.now() + timedelta(minutes=settings.CHECKOUT_HOLD_MINUTES)
    checkout = checkout_reserve(lines=lines, buyer=buyer, email=email, expires_at=expires_at,
                                challenge_solved=challenge_solved)
    lines = list(checkout.lines.select_related("product"))
    metadata = {"checkout": str(checkout.id), "store": checkout.store_id,
                "lines": ",".join(f"{_line_name(line.product)}x{line.quantity}" for line in lines)[:500]}
    if len(lines) == 1:
        metadata |= {"product": lines[0].product.stripe_product_id, "quantity": str(lines[0].quantity)}
        if lines[0].product.variant_label:
            metadata["price"] = lines[0].product.stripe_price_id
    try:
        intent = get_gateway().payment_intent_create(amount=checkout.amount, currency=checkout.currency,
                                                     metadata=metadata,
                                                     idempotency_key=f"checkout:{checkout.id}")
    except GatewayError as exc:
        checkout_release(checkout_id=checkout.pk, status=Checkout.Status.FAILED,
                         note=f"Could not start the payment: {exc}")
        raise
    Checkout.objects.filter(pk=checkout.pk).update(payment_intent_id=intent["id"],
                                                   client_secret=intent.get("client_secret") or "")
    checkout.refresh_from_db()
    return checkout


def _line_name(product) -> str:
    # A size or colour is named by its price (the variant's key), after its product.
    return f"{product.stripe_product_id}:{product.stripe_price_id}" if product.variant_label else product.stripe_product_id


@dataclass(frozen=True)
class ReadySession:
    """A Checkout Session made before its checkout (session_pool.py): it already names the checkout's
    id, and the units stay held until `units_held_until` (past the session's own deadline)."""

    checkout_id: uuid.UUID
    id: str
    url: str
    expires_at: datetime
    units_held_until: datetime


def checkout_reserve(*, lines: list[CheckoutRequestLine], buyer: Buyer, expires_at: datetime, email: str = "",
                     units_held_until: datetime | None = None, challenge_solved: bool = False,
                     products: list[Product] | None = None,
                     ready_session: Callable[[], ReadySession | None] | None = None) -> Checkout:
    """Create a checkout holding every line (all or none) for this buyer, within its caps and rates.

    `expires_at` is when the buyer's hold lapses; the units stay held until `units_held_until`
    (default: the same), which a held checkout sets past its Stripe session's own deadline.
    `products`: the lines' products as the caller just read them (with availability), not read
    again. `ready_session` is asked once the buyer is within its caps and the products are
    locked (so buyers of one product ask one at a time, and only one who can be served takes one);
    the session it gives is the checkout's, with its id and hold deadline.
    Raises CheckoutRefused, TooManyOpenCheckouts (ChallengeRequired) or InsufficientStock; nothing
    is held then.
    Locks: the buyer and its address (advisory), then the products (pk order).
    """
    if not lines:
        raise CheckoutRefused("A checkout needs at least one line.")
    wanted_ids = [x.product_id for x in lines]
    products = {p.pk: p for p in (products or inventory_selectors.products_by_ids(product_ids=wanted_ids))}
    if missing := set(wanted_ids) - set(products):
        raise CheckoutRefused(f"Unknown {words.product_ids(sorted(missing))}.")
    if unpriced := sorted(p.display_name for p in products.values() if p.unit_amount <= 0):
        raise CheckoutRefused(f"Not for sale here, no price set: {', '.join(unpriced)}.")
    if len({p.store_id for p in products.values()}) > 1 or len({p.currency for p in products.values()}) > 1:
        raise CheckoutRefused("All lines of one checkout must come from one store, in one currency.")
    with transaction.atomic():
        first = products[lines[0].product_id]
        buyer_holds_check(buyer=buyer, store=first.store, wanted=_merged(lines),
                          names={pid: p.display_name for pid, p in products.items()},
                          challenge_solved=challenge_solved)
        locked = products_lock_for_hold(wanted_ids)
        ready = ready_session() if ready_session is not None else None
        checkout = Checkout.objects.create(
            email=email, client_ref=buyer.address[:64], buyer_ref=buyer.ref[:64], store_id=first.store_id,
            currency=first.currency, expires_at=expires_at,
            amount=sum(products[x.product_id].unit_amount * x.quantity for x in lines), **_session_fields(ready))
        stock_reserve_lines(lines=[StockLine(x.product_id, x.quantity) for x in lines], hold_ref=str(checkout.pk),
                            expires_at=ready.units_held_until if ready else units_held_until or expires_at,
                            locked=locked, new_hold=True)
        CheckoutLine.objects.bulk_create(
            CheckoutLine(checkout=checkout, product_id=pid, quantity=qty, unit_amount=products[pid].unit_amount)
            for pid, qty in _merged(lines).items())
    return checkout


def _session_fields(ready: ReadySession | None) -> dict:
    if ready is None:
        return {}
    return {"id": ready.checkout_id, "checkout_session_id": ready.id, "session_url": ready.url,
            "session_expires_at": ready.expires_at}


def _merged(lines: list[CheckoutRequestLine]) -> dict[int, int]:
    totals: dict[int, int] = {}
    for line in lines:
        totals[line.product_id] = totals.get(line.product_id, 0) + line.quantity
    return totals


def checkout_sell(*, checkout_id) -> bool:
    """Turn the checkout's hold into a sale (ledger rows); False when the stock is gone.

    Locks: the checkout row, then the products (pk order) through stock_decrease_lines.
    Triggers (after commit): stock broadcasts, checkout broadcast.
    """
    with transaction.atomic():
        checkout = Checkout.objects.select_for_update().get(pk=checkout_id)
        if checkout.status not in OPEN:
            return checkout.status in (Checkout.Status.AUTHORISED, Checkout.Status.PAID)
        lines = [StockLine(x.product_id, x.quantity) for x in checkout.lines.all()]
        try:
            stock_decrease_lines(lines=lines, source=f"checkout:{checkout.pk}", hold_ref=str(checkout.pk))
        except InsufficientStock as short:
            reservation_release(hold_ref=str(checkout.pk), reason="stock gone before payment")
            _set(checkout, checkout.status, f"Hold ran out and the stock went: {short}.")
            transaction.on_commit(partial(metrics.sales_applied, sold=0, oversold=1))
            return False
        _set(checkout, Checkout.Status.AUTHORISED, "Units sold; capturing the payment.")
        transaction.on_commit(partial(metrics.sales_applied, sold=1, oversold=0))
        return True


def checkout_mark(*, checkout_id, status: str, note: str, refund_id: str = "") -> Checkout:
    with transaction.atomic():
        checkout = Checkout.objects.select_for_update().get(pk=checkout_id)
        if refund_id:
            checkout.refund_id = refund_id
        return _set(checkout, status, note)


def checkout_release(*, checkout_id, status: str, note: str) -> Checkout:
    """Give the held units back and close the checkout with `status`."""
    with transaction.atomic():
        checkout = Checkout.objects.select_for_update().get(pk=checkout_id)
        reservation_release(hold_ref=str(checkout.pk), reason=note)
        return _set(checkout, status, note)


def checkout_return_stock(*, checkout_id, note: str) -> Checkout:
    """A sold checkout whose authorisation was cancelled after all: its units go back on sale."""
    with transaction.atomic():
        checkout = Checkout.objects.select_for_update().get(pk=checkout_id)
        for line in checkout.lines.select_related("product"):
            stock_increase(product=line.product, quantity=line.quantity, source=f"checkout-return:{checkout.pk}",
                           reason="return", note=note)
        return _set(checkout, Checkout.Status.CANCELLED, note)


def checkouts_expire_held(*, hold_refs: list[str]) -> None:
    Checkout.objects.filter(pk__in=hold_refs, status=Checkout.Status.RESERVED).update(
        status=Checkout.Status.EXPIRED, resolution="The hold ran out before payment.", updated_at=timezone.now())
    for ref in hold_refs:
        checkout_broadcast_on_commit(ref)


def _set(checkout: Checkout, status: str, note: str) -> Checkout:
    checkout.status = status
    checkout.resolution = f"{checkout.resolution} {note}".strip()[-2000:]
    checkout.save(update_fields=["status", "resolution", "refund_id", "updated_at"])
    checkout_broadcast_on_commit(checkout.pk)
    return checkout
