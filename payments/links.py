"""Keep a Payment Link in step with stock: active only while units are available (stock not held by
checkouts; and staff have not paused it), and `restrictions.completed_sessions.limit` = sessions
completed so far + available units, so Stripe itself stops the link once as many sessions as
units have completed.
"""

import hashlib
import json

from django.conf import settings

from inventory import selectors as inventory_selectors
from inventory.models import Product
from inventory.services import product_link_state_record

from .gateway import get_gateway

MAX_PASSES = 3


def payment_link_bring_in_step(*, product: Product) -> str:
    if not product.payment_link_id:
        return "no payment link"
    outcome = "in step"
    for _ in range(MAX_PASSES):
        stock_seen = inventory_selectors.product_by_id(product_id=product.pk)
        outcome = _one_pass(stock_seen)
        # Stock may have moved while we talked to Stripe; go again so the last word matches it.
        if inventory_selectors.product_by_id(product_id=product.pk).available == stock_seen.available:
            break
    return outcome


def _one_pass(product: Product) -> str:
    gateway = get_gateway()
    link = gateway.payment_link_retrieve(product.payment_link_id)
    params = desired_link_changes(link=link, available=product.available, paused=product.payment_link_paused)
    if params:
        key = _idempotency_key(product, params)
        link = gateway.payment_link_update(product.payment_link_id, params=params, idempotency_key=key)
    product_link_state_record(product=product, active=bool(link.get("active")))
    return f"updated {sorted(params)}" if params else "in step"


def desired_link_changes(*, link: dict, available: int, paused: bool) -> dict:
    want_active = available > 0 and not paused
    params: dict = {}
    if bool(link.get("active")) != want_active:
        params["active"] = want_active
    if not want_active:
        if link.get("inactive_message") != settings.PAYMENT_LINK_INACTIVE_MESSAGE:
            params["inactive_message"] = settings.PAYMENT_LINK_INACTIVE_MESSAGE
        return params
    completed = ((link.get("restrictions") or {}).get("completed_sessions") or {})
    limit = int(completed.get("count") or 0) + available
    if completed.get("limit") != limit:
        params["restrictions"] = {"completed_sessions": {"limit": limit}}
    return params


def _idempotency_key(product: Product, params: dict) -> str:
    # Same wanted state after the same ledger row: the same request, safe for Stripe to replay.
    last_movement = inventory_selectors.product_last_movement_id(product_id=product.pk)
    digest = hashlib.sha256(json.dumps(params, sort_keys=True).encode()).hexdigest()[:16]
    return f"plink:{product.payment_link_id}:{last_movement}:{digest}"
