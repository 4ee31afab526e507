"""Checkout Sessions ready before the buyer asks: a small pool per held-mode product.

Stripe takes hundreds of milliseconds to create a Checkout Session and counts each create against
the account's rate limit, so in a keynote rush the buyers who get units would otherwise wait for
Stripe, queued behind one another at the shared rate limit, before they are sent to pay. Instead
each held-mode product keeps up to HELD_CHECKOUT_POOL_SIZE open sessions for one unit, never more
than its units available (PooledSession: no units are held for them, nobody knows their URLs).

- session_pool_fill (beat, every HELD_CHECKOUT_POOL_FILL_SECONDS, on the worker) brings a product's
  pool to its target: it retires the sessions it no longer wants (more than the units available,
  made for another price, amount or capture method, the product off sale or out of held mode, or
  too close to Stripe's deadline to give a buyer the full HELD_CHECKOUT_SESSION_MINUTES) by
  expiring them at Stripe, then creates what is missing, each create through the gateway at the
  shared rate limit, re-reading the units available before each one.
- the buyer's hold (checkout_reserve, asking session_pool_claimer's claim) takes one usable session
  once the client is within its caps and the product is locked, and deletes it; the checkout is
  created with the id and the session the row carries. A refusal (stock) rolls the claim back with
  the rest. No Stripe call: from here on it is a held checkout like any other, expired at Stripe
  when its hold lapses (the sweeper, payments/fulfilment/held.py).

Only sessions for one unit are pooled (the rush's case); another quantity is created when asked.
"""

import logging
import uuid
from collections.abc import Callable
from datetime import timedelta

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from common import words
from inventory.models import Product, QrMode

from ..gateway import GatewayError, GatewayRejected, get_gateway
from ..models import PooledSession
from .services import ReadySession
from .session_params import held_session_params

log = logging.getLogger(__name__)

POOL_QUANTITY = 1
EXPIRE_ATTEMPTS = 5


def session_pool_claimer(*, product: Product, quantity: int) -> Callable[[], ReadySession | None] | None:
    """What the buyer's hold asks for a ready session (checkout_reserve's `ready_session`), or None
    when none is pooled for this quantity. The claim runs in the hold's transaction once the
    product is locked, so only a buyer the stock can serve takes a session, and a refusal after it
    (stock) rolls the claim back."""
    if quantity != POOL_QUANTITY or settings.HELD_CHECKOUT_POOL_SIZE <= 0:
        return None
    return lambda: _claim(product)


def _claim(product: Product) -> ReadySession | None:
    """Take the usable session closest to its deadline, in one statement (DELETE … RETURNING)."""
    # SKIP LOCKED: a row locked now is being retired by a fill (buyers already queue on the product).
    first = _usable(product).select_for_update(skip_locked=True).order_by("session_expires_at").values("pk")[:1]
    inner, params = first.query.sql_with_params()
    table = PooledSession._meta.db_table
    # raw(): Django converts the returned columns (uuid, datetime) as for any read, on either backend.
    claimed = list(PooledSession.objects.raw(
        f"DELETE FROM {table} WHERE id = ({inner}) "
        f"RETURNING id, checkout_session_id, session_url, session_expires_at", params))
    if not claimed:
        return None
    pooled = claimed[0]
    return ReadySession(checkout_id=pooled.pk, id=pooled.checkout_session_id, url=pooled.session_url,
                        expires_at=pooled.session_expires_at,
                        units_held_until=pooled.session_expires_at
                        + timedelta(minutes=settings.HELD_CHECKOUT_GRACE_MINUTES))


def _usable(product: Product):
    """The product's pooled sessions a buyer may get now: made for what the product costs and how
    its store captures, and open long enough to give the buyer a full session."""
    return PooledSession.objects.filter(
        product_id=product.pk, quantity=POOL_QUANTITY, retiring=False, unit_amount=product.unit_amount,
        price_id=product.stripe_price_id, capture_method=product.store.capture_method,
        session_expires_at__gte=timezone.now() + timedelta(minutes=settings.HELD_CHECKOUT_SESSION_MINUTES))


def session_pools_fill() -> str:
    """Every held-mode product's pool, and every product that still has pooled sessions (switched
    out of held mode: they are retired)."""
    held = Q(qr_mode=QrMode.HELD_CHECKOUT) | Q(qr_mode="", store__qr_mode=QrMode.HELD_CHECKOUT)
    ids = Product.objects.filter(held | Q(pooled_sessions__isnull=False)).distinct().values_list("pk", flat=True)
    done = [session_pool_fill(product_id=pid) for pid in sorted(ids)]
    return f"{words.pools(len(done))}: " + "; ".join(done) if done else "no pools"


def session_pool_fill(*, product_id: int) -> str:
    """Bring one product's pool to its target (see the module). Call outside a transaction: it
    talks to Stripe. Returns what it did."""
    product = _product(product_id)
    retired = _retire_unwanted(product_id, product)
    expired = _expire_retiring(product_id)
    created = 0
    while product is not None and _usable(product).count() < _target(product):
        if not _create_one(product):
            break
        created += 1
        product = _product(product_id)  # the units available again: a hold may have taken some
    return f"product {product_id}: retired {retired}, expired {expired}, created {created}"


def _product(product_id: int) -> Product | None:
    return Product.objects.with_availability().select_related("store").filter(pk=product_id).first()


def _target(product: Product | None) -> int:
    if product is None or not product.sells_held or not product.on_sale or product.unit_amount <= 0:
        return 0
    return max(0, min(settings.HELD_CHECKOUT_POOL_SIZE, product.available // POOL_QUANTITY))


def _retire_unwanted(product_id: int, product: Product | None) -> int:
    """Mark for expiry every session past the target, keeping the usable ones that live longest."""
    target = _target(product)
    keep = list(_usable(product).order_by("-session_expires_at").values_list("pk", flat=True)[:target]) if target else []
    return PooledSession.objects.filter(product_id=product_id, retiring=False).exclude(pk__in=keep).update(
        retiring=True)


def _expire_retiring(product_id: int) -> int:
    """Expire retired sessions at Stripe, then forget them. A failure is kept on the row (admin) and
    retried on the next fill, EXPIRE_ATTEMPTS times; then the row goes: nobody knows the session's
    URL, and Stripe closes it at its own deadline."""
    expired = 0
    for pooled in PooledSession.objects.filter(product_id=product_id, retiring=True):
        try:
            get_gateway().checkout_session_expire(pooled.checkout_session_id,
                                                  idempotency_key=f"session:pool-expire:{pooled.pk}")
        except GatewayRejected:
            pass  # no longer open at Stripe (expired there already): nothing left to do
        except GatewayError as exc:
            if pooled.attempts + 1 < EXPIRE_ATTEMPTS:
                PooledSession.objects.filter(pk=pooled.pk).update(attempts=pooled.attempts + 1, last_error=str(exc))
                continue
            log.warning("pooled session %s: not expired at Stripe after %d attempts (%s); Stripe closes it at %s",
                        pooled.checkout_session_id, EXPIRE_ATTEMPTS, exc, pooled.session_expires_at)
        pooled.delete()
        expired += 1
    return expired


def _create_one(product: Product) -> bool:
    """One session for one unit, at the shared rate limit; False when Stripe would not (logged: the
    next fill tries again, and meanwhile buyers get sessions made when they ask)."""
    pooled_id = uuid.uuid4()
    session_until = timezone.now() + timedelta(minutes=settings.HELD_CHECKOUT_POOL_SESSION_MINUTES)
    try:
        session = get_gateway().checkout_session_create(
            params=held_session_params(checkout_id=pooled_id, product=product, quantity=POOL_QUANTITY,
                                       session_until=session_until),
            idempotency_key=f"session:pool:{pooled_id}")
    except GatewayError as exc:
        log.warning("pool for product %s: Stripe did not create a session (%s)", product.pk, exc)
        return False
    PooledSession.objects.create(
        id=pooled_id, product=product, quantity=POOL_QUANTITY, unit_amount=product.unit_amount,
        price_id=product.stripe_price_id, capture_method=product.store.capture_method,
        checkout_session_id=session["id"], session_url=session["url"], session_expires_at=session_until)
    return True
