"""Orders from Stripe Checkout Sessions: the only writer of Order rows.

Stock itself is only changed through inventory.services; follow-up Stripe work (capture, refund,
cancel) is enqueued after commit with the order id.
"""

import logging
from dataclasses import dataclass

from django.db import transaction

from inventory import selectors as inventory_selectors
from inventory.exceptions import InsufficientStock
from inventory.services import StockLine, stock_decrease_lines

from .models import Order, OrderLine

log = logging.getLogger(__name__)

FINAL_STATUSES = {Order.Status.REFUNDED, Order.Status.CANCELLED, Order.Status.IGNORED}


@dataclass(frozen=True)
class MatchedLine:
    product_id: int
    quantity: int
    price_id: str


def checkout_session_fulfil(*, session: dict, line_items: list[dict], event_id: str) -> Order:
    """Record the order for a completed session and take its stock, all lines or none.

    Locks: the order row (get_or_create + SELECT … FOR UPDATE) so deliveries of one session
    serialise, then the product rows through inventory.services. Triggers (after commit): capture
    when fulfilled, refund-or-cancel when oversold.
    """
    with transaction.atomic():
        order, created = _order_for_session(session, event_id)
        if not created:
            return order
        lines, unmatched = _match_lines(session, line_items)
        if unmatched or not lines:
            return _mark(order, Order.Status.UNMATCHED, "No product of ours for: " + (", ".join(unmatched) or
                                                                                     "an empty session"))
        try:
            stock_decrease_lines(lines=[StockLine(x.product_id, x.quantity) for x in lines],
                                 source=session["id"])
        except InsufficientStock as short:
            _add_lines(order, lines)
            _mark(order, Order.Status.OVERSOLD, f"Sold out before this payment: {short}. Money goes back.")
            transaction.on_commit(lambda: _enqueue("order_give_money_back", order.pk))
            return order
        _add_lines(order, lines)
        _mark(order, Order.Status.FULFILLED, "Stock taken.")
        transaction.on_commit(lambda: _enqueue("order_capture_payment", order.pk))
        return order


def order_exists(*, checkout_session_id: str) -> bool:
    return Order.objects.filter(checkout_session_id=checkout_session_id).exists()


def order_record_capture(*, order_id: int, captured: bool, note: str = "") -> Order:
    with transaction.atomic():
        order = Order.objects.select_for_update().get(pk=order_id)
        order.capture = Order.Capture.CAPTURED if captured else Order.Capture.NOT_NEEDED
        if note:
            order.resolution = f"{order.resolution} {note}".strip()
        order.save(update_fields=["capture", "resolution", "updated_at"])
        return order


def order_record_money_back(*, order_id: int, status: str, refund_id: str = "", note: str) -> Order:
    """Close an oversold order as refunded or cancelled; a closed order is left as it is."""
    with transaction.atomic():
        order = Order.objects.select_for_update().get(pk=order_id)
        if order.status in FINAL_STATUSES:
            return order
        order.status, order.refund_id = status, refund_id
        order.resolution = f"{order.resolution} {note}".strip()
        order.save(update_fields=["status", "refund_id", "resolution", "updated_at"])
        return order


def order_record_problem(*, order_id: int, note: str) -> Order:
    with transaction.atomic():
        order = Order.objects.select_for_update().get(pk=order_id)
        order.resolution = f"{order.resolution} {note}".strip()
        order.save(update_fields=["resolution", "updated_at"])
        return order


def _order_for_session(session: dict, event_id: str) -> tuple[Order, bool]:
    store_id = (session.get("metadata") or {}).get("store_id") or None
    order, created = Order.objects.select_for_update().get_or_create(
        checkout_session_id=session["id"],
        defaults={
            "stripe_event_id": event_id,
            "payment_intent_id": session.get("payment_intent") or "",
            "payment_link_id": session.get("payment_link") or "",
            "store_id": store_id if store_id and _store_exists(store_id) else None,
            "status": Order.Status.IGNORED,
            "amount_total": session.get("amount_total"),
            "currency": session.get("currency") or "",
            "customer_email": ((session.get("customer_details") or {}).get("email") or "")[:254],
        },
    )
    return order, created


def _store_exists(store_id: str) -> bool:
    return inventory_selectors.store_list().filter(pk=store_id).exists()


def _match_lines(session: dict, line_items: list[dict]) -> tuple[list[MatchedLine], list[str]]:
    """Map each line to a product: by the session's Payment Link first, else by price (and store)."""
    link_product = inventory_selectors.product_for_payment_link(payment_link_id=session.get("payment_link") or "")
    store_id = (session.get("metadata") or {}).get("store_id") or (link_product.store_id if link_product else None)
    matched, unmatched = [], []
    for item in line_items:
        price_id = (item.get("price") or {}).get("id", "")
        product = None
        if link_product and link_product.stripe_price_id in ("", price_id):
            product = link_product
        product = product or inventory_selectors.product_for_price(price_id=price_id, store_id=store_id)
        if product is None:
            unmatched.append(price_id or item.get("id", "?"))
        else:
            matched.append(MatchedLine(product.pk, int(item.get("quantity") or 1), price_id))
    return matched, unmatched


def _add_lines(order: Order, lines: list[MatchedLine]) -> None:
    totals: dict[int, MatchedLine] = {}
    for line in lines:
        prior = totals.get(line.product_id)
        totals[line.product_id] = MatchedLine(line.product_id, line.quantity + (prior.quantity if prior else 0),
                                              line.price_id)
    OrderLine.objects.bulk_create(
        OrderLine(order=order, product_id=x.product_id, quantity=x.quantity, stripe_price_id=x.price_id)
        for x in totals.values()
    )


def _mark(order: Order, status: str, resolution: str) -> Order:
    order.status, order.resolution = status, resolution
    if status == Order.Status.FULFILLED and order.payment_intent_id:
        order.capture = Order.Capture.PENDING
    order.save(update_fields=["status", "resolution", "capture", "updated_at"])
    return order


def _enqueue(task_name: str, order_id: int) -> None:
    from . import tasks

    getattr(tasks, task_name).delay(order_id)
