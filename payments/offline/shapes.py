"""Stripe's real object shapes (its published fixtures), to build objects with the fields Stripe sends.

payments/offline/data/stripe_shapes.json is a verbatim extract of Stripe's fixtures3.json (MIT); a test
checks it still equals ../shared/stripe/fixtures3.json.
"""

import copy
import json
import time
from functools import lru_cache
from pathlib import Path

SHAPES_FILE = Path(__file__).resolve().parent / "data" / "stripe_shapes.json"


@lru_cache(maxsize=1)
def _resources() -> dict:
    return json.loads(SHAPES_FILE.read_text())["resources"]


def stripe_shape(resource: str, /, **overrides) -> dict:
    """A deep copy of Stripe's example `resource` object with top-level fields overridden."""
    return {**copy.deepcopy(_resources()[resource]), **overrides}


def offline_payment_link(*, link_id: str, url: str, params: dict) -> dict:
    """A new, active Payment Link as Stripe answers a create with `params` (nothing completed yet)."""
    limit = ((params.get("restrictions") or {}).get("completed_sessions") or {}).get("limit")
    intent_data = params.get("payment_intent_data") or {}
    link = stripe_shape("payment_link", id=link_id, url=url, active=True, metadata=dict(params.get("metadata") or {}),
                        inactive_message=params.get("inactive_message"),
                        restrictions={"completed_sessions": {"count": 0, "limit": limit}} if limit else None)
    link["payment_intent_data"] = {**(link.get("payment_intent_data") or {}),
                                   "capture_method": intent_data.get("capture_method", "automatic"),
                                   "metadata": dict(intent_data.get("metadata") or {})}
    if params.get("after_completion"):
        link["after_completion"] = params["after_completion"]
    # Not Stripe's (a link's line items are a separate list): what the offline pay page sells.
    link["offline"] = {"line_items": params.get("line_items") or []}
    return link


def offline_checkout_session(*, session_id: str, params: dict, url: str, prices: dict[str, tuple[int, str]]) -> dict:
    """An open Checkout Session as Stripe answers a create with `params`; `prices` gives each price
    id's (unit amount, currency), as Stripe would know them."""
    lines = []
    for item in params.get("line_items") or []:
        data = item.get("price_data") or {}
        unit, currency = (int(data["unit_amount"]), data["currency"]) if data else prices[item["price"]]
        lines.append((unit * int(item.get("quantity") or 1), currency))
    total = sum(amount for amount, _ in lines)
    intent_data = params.get("payment_intent_data") or {}
    return stripe_shape(
        "checkout.session", id=session_id, mode=params.get("mode", "payment"), status="open",
        payment_status="unpaid", url=url, payment_intent=None, payment_link=None, amount_subtotal=total,
        amount_total=total, currency=lines[0][1] if lines else "usd", expires_at=int(params["expires_at"]),
        success_url=params.get("success_url"), cancel_url=params.get("cancel_url"),
        client_reference_id=params.get("client_reference_id"), metadata=dict(params.get("metadata") or {}),
        created=int(time.time()), customer_details=None,
        # Not Stripe's: what the simulated hosted page needs to settle the session as Stripe would.
        offline={"line_items": params.get("line_items") or [],
                 "capture_method": intent_data.get("capture_method", "automatic"),
                 "payment_intent_metadata": dict(intent_data.get("metadata") or {})})
