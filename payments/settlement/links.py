"""Keep a Payment Link in step with stock: active only while units are available (and staff have
not paused it), and `restrictions.completed_sessions.limit` = sessions completed + available units,
so Stripe itself stops the link once as many more sessions as units have completed.

Syncs are coalesced: every stock change bumps LinkSync.wanted, and one sync (at most one in flight
per link, by lease) brings the link to the state that matches stock *now*. Stripe is only called
when that state differs from what Stripe last confirmed (`pushed`): the limit stays constant while
sales simply use it up (each sale adds one completed session and removes one available unit), so
a burst of sales costs one call when the product sells out, not one per sale.
"""

import hashlib
import json

from django.conf import settings
from django.db import transaction

from inventory import selectors as inventory_selectors
from inventory.services import product_link_state_record

from ..gateway import get_gateway
from ..models import LinkSync, Order


def link_sync_run(*, sync: LinkSync) -> None:
    """Bring one claimed link in step; raises GatewayError for the runner to retry or give up."""
    product = inventory_selectors.product_by_id(product_id=sync.product_id)
    if not product.payment_link_id:
        return _finish(sync, pushed=sync.pushed)
    pushed = sync.pushed or _snapshot(get_gateway().payment_link_retrieve(product.payment_link_id), product)
    params = desired_link_changes(pushed=pushed, available=product.available, paused=product.payment_link_paused,
                                  completed=_orders_for_link(product))
    if params:
        link = get_gateway().payment_link_update(product.payment_link_id, params=params,
                                                 idempotency_key=_idempotency_key(product, params))
        pushed = _snapshot(link, product)
    product_link_state_record(product=product, active=pushed["active"])
    _finish(sync, pushed=pushed)


def desired_link_changes(*, pushed: dict, available: int, paused: bool, completed: int) -> dict:
    """The update that makes the link match stock, given what Stripe last confirmed; {} if in step."""
    want_active = available > 0 and not paused
    params: dict = {}
    if pushed["active"] != want_active:
        params["active"] = want_active
    if not want_active:
        if pushed.get("inactive_message") != settings.PAYMENT_LINK_INACTIVE_MESSAGE:
            params["inactive_message"] = settings.PAYMENT_LINK_INACTIVE_MESSAGE
        return params
    # Stripe's count then = its count when it last answered + our orders since.
    limit = pushed["count"] + (completed - pushed["orders"]) + available
    if pushed.get("limit") != limit:
        params["restrictions"] = {"completed_sessions": {"limit": limit}}
    return params


def _snapshot(link: dict, product) -> dict:
    """What we keep of a link Stripe returned: enough to decide the next update without a read."""
    completed = ((link.get("restrictions") or {}).get("completed_sessions") or {})
    return {"active": bool(link.get("active")), "limit": completed.get("limit"),
            "count": int(completed.get("count") or 0), "orders": _orders_for_link(product),
            "inactive_message": link.get("inactive_message"),
            "capture_method": (link.get("payment_intent_data") or {}).get("capture_method")}


def _orders_for_link(product) -> int:
    return Order.objects.filter(payment_link_id=product.payment_link_id).count()


def _finish(sync: LinkSync, *, pushed: dict | None) -> None:
    """Done if no stock change came in meanwhile; else stay due, so the newest stock wins."""
    with transaction.atomic():
        caught_up = LinkSync.objects.filter(pk=sync.pk, wanted=sync.wanted).update(
            synced=sync.wanted, pushed=pushed, locked_until=None, attempts=0, last_error="")
        if not caught_up:
            LinkSync.objects.filter(pk=sync.pk).update(pushed=pushed, locked_until=None, attempts=0)


def _idempotency_key(product, params: dict) -> str:
    # Same wanted state after the same ledger row: the same request, safe for Stripe to replay.
    last_movement = inventory_selectors.product_last_movement_id(product_id=product.pk)
    digest = hashlib.sha256(json.dumps(params, sort_keys=True).encode()).hexdigest()[:16]
    return f"plink:{product.payment_link_id}:{last_movement}:{digest}"
