"""Fulfilment: claim ready intake events in batches and decide them, one transaction per batch.
(Catalogue events, product.updated and price.updated, are applied in the same batches:
payments/catalogue/events.py.)

Rows are claimed with SELECT … FOR UPDATE SKIP LOCKED, so any number of workers can drain at once,
and a worker (or its database connection) that dies mid-batch rolls the whole batch back for
another to redo. Sales are decided in Stripe's event order (created, then id) by one inventory
service that writes one conditional UPDATE per product and one ledger row per sale; each session
gets its Order, and each capture or refund it needs is recorded as a Stripe job in the same
transaction. No Stripe call is made on the way to a decision.
"""

import logging
import time
from dataclasses import dataclass
from functools import partial

from django.db import InterfaceError, OperationalError, transaction
from django.utils import timezone
from djstripe.models import Event

from common import metrics, words
from common.ids import uuid_or_none
from common.work import work_quarantine, work_tries_record
from inventory import selectors as inventory_selectors
from inventory.exceptions import InsufficientStock
from inventory.services import Sale, SaleBatchOutcome, StockLine, stock_sell_batch

from ..catalogue.events import catalogue_events_apply
from ..intake.services import PURCHASE_EVENT_TYPES
from ..work.kinds import INTAKE
from ..models import Checkout, IntakeEvent, LinkSync, Order, OrderLine, StripeJob
from ..work.records import stripe_jobs_record
from .held import held_checkout_follow_session, held_checkouts_for_sessions
from .sessions import PurchasedLine, lines_from_line_items, lines_from_session, link_products, session_is_paid_purchase

log = logging.getLogger(__name__)


@dataclass
class _Purchase:
    intake: IntakeEvent
    session: dict
    lines: list[PurchasedLine]
    order: Order


def intake_apply_batch(*, limit: int) -> int:
    """Decide up to `limit` ready events; returns how many were claimed (0: nothing to do).

    An event that cannot be applied is set aside (failed, with its reason) and the rest of its batch
    is applied in the same pass: the batch runs under one savepoint, and if it raises, each event
    runs again alone, in Stripe's order (the outcome never depends on how a batch is cut). A
    failure of the whole batch that may pass (a lost connection, a deadlock) is not the events'
    fault: it counts a try and records the error on each, and the batch is redone.

    Locks: the claimed intake rows (skipping rows other workers hold), then the products of the
    batch through inventory.services. Triggers (after commit): broadcasts, the settlement bell.
    """
    started = time.monotonic()
    claimed: list[int] = []
    try:
        with transaction.atomic():
            intakes = list(IntakeEvent.objects.select_for_update(skip_locked=True)
                           .filter(state=IntakeEvent.State.READY).order_by("event_created", "event_id")[:limit])
            claimed = [i.pk for i in intakes]
            if not intakes:
                return 0
            done = _apply_quarantining(intakes)
    except PASSING_ERRORS as exc:
        _count_try(claimed, exc)
        raise
    _report_batch(intakes, done, started)
    return len(claimed)


# Errors of the moment, not of an event: the batch is redone, each event recording the try.
PASSING_ERRORS = (OperationalError, InterfaceError)


def _apply_quarantining(intakes: list[IntakeEvent]) -> list[int]:
    objects = dict(Event.objects.filter(id__in=[i.event_id for i in intakes]).values_list("id", "data"))
    objects = {event_id: data.get("object") if isinstance(data, dict) else None for event_id, data in objects.items()}
    try:
        with transaction.atomic():
            return _apply(intakes, objects)
    except PASSING_ERRORS:
        raise
    except Exception as exc:  # one bad event: find it, keep the others
        log.warning("batch of %s events failed (%s: %s): applying them one by one", len(intakes),
                    type(exc).__name__, exc)
    done: list[int] = []
    for intake in intakes:
        try:
            with transaction.atomic():
                done += _apply([intake], objects)
        except PASSING_ERRORS:
            raise
        except Exception as exc:
            work_quarantine(INTAKE, pks=[intake.pk], reason=f"not applied: {type(exc).__name__}: {exc}")
    return done


def _apply(intakes: list[IntakeEvent], objects: dict) -> list[int]:
    objects = {i.event_id: objects.get(i.event_id) for i in intakes}
    if any(not isinstance(obj, dict) for obj in objects.values()):
        raise ValueError("the stored event has no data.object")
    done = _apply_purchases([i for i in intakes if i.kind == IntakeEvent.Kind.PURCHASE], objects)
    done += _follow_payments([i for i in intakes if i.kind == IntakeEvent.Kind.PAYMENT], objects)
    done += catalogue_events_apply(intakes=[i for i in intakes if i.kind == IntakeEvent.Kind.CATALOGUE],
                                   objects=objects)
    IntakeEvent.objects.filter(pk__in=done).update(state=IntakeEvent.State.DONE, done_at=timezone.now())
    return done


def _count_try(claimed: list[int], exc: Exception) -> None:
    if not claimed:
        return
    try:
        work_tries_record(INTAKE, pks=claimed, error=f"{type(exc).__name__}: {exc}")
    except PASSING_ERRORS as again:  # the database is away too: the next try counts
        log.warning("could not count the failed try of %s events: %s", len(claimed), again)


def _report_batch(intakes: list[IntakeEvent], done: list[int], started: float) -> None:
    """One line per committed batch: how many events, which (first and last, in Stripe's order), how long."""
    ms = round((time.monotonic() - started) * 1000, 1)
    first, last = intakes[0].event_id, intakes[-1].event_id
    log.info("fulfilment batch of %s %s..%s applied (%d done) in %.1f ms", words.events(len(intakes)), first, last,
             len(done), ms, extra={"events": len(intakes), "done": len(done), "first_event_id": first,
                                   "last_event_id": last, "duration_ms": ms})
    metrics.FULFILMENT_BATCHES.inc()


def _apply_purchases(intakes: list[IntakeEvent], objects: dict) -> list[int]:
    sessions = {i.pk: objects.get(i.event_id, {}) for i in intakes}
    links = link_products(list(sessions.values()))
    seen = set(Order.objects.filter(checkout_session_id__in=[s.get("id") for s in sessions.values()])
               .values_list("checkout_session_id", flat=True))
    stores = set(inventory_selectors.store_list().values_list("pk", flat=True))
    held = held_checkouts_for_sessions(list(sessions.values()))
    plain_orders, purchases, waiting, done = [], [], [], []
    for intake in intakes:
        session = sessions[intake.pk]
        if session.get("id") in held:
            held_checkout_follow_session(checkout_id=held[session["id"]], session=session)
            done.append(intake.pk)
            continue
        if intake.event_type not in PURCHASE_EVENT_TYPES:
            done.append(intake.pk)  # a Payment Link session expiring: nothing was bought or held
            continue
        if session.get("id") in seen:
            done.append(intake.pk)  # a second event for a session already decided
            continue
        link_product = links.get(session.get("payment_link") or "")
        if not session_is_paid_purchase(session):
            plain_orders.append(_order(session, intake, stores, link_product, Order.Status.IGNORED,
                                       f"Not a paid purchase ({session.get('mode')}/{session.get('status')})."))
        elif (lines := _lines(session, intake, link_product)) is None:
            waiting.append(intake)
            continue
        elif lines.unmatched or not lines.matched:
            # No Order: once staff add the product (or fix the price), a retry sells it.
            work_quarantine(INTAKE, pks=[intake.pk], reason="not applied: no product of ours for "
                            + (", ".join(lines.unmatched) or "an empty session"))
            seen.add(session.get("id"))
            continue
        else:
            purchases.append(_Purchase(intake, session, lines.matched, _order(session, intake, stores, link_product,
                                                                              Order.Status.FULFILLED, "")))
        seen.add(session.get("id"))
        done.append(intake.pk)
    Order.objects.bulk_create(plain_orders)
    _decide(purchases, links)
    _await_line_items(waiting, sessions)
    return done


def _lines(session: dict, intake: IntakeEvent, link_product):
    if intake.line_items is not None:
        return lines_from_line_items(session, intake.line_items, link_product)
    return lines_from_session(session, link_product)


def _decide(purchases: list[_Purchase], links: dict) -> None:
    if not purchases:
        return
    outcome = stock_sell_batch(sales=[Sale(p.session["id"], tuple(StockLine(x.product_id, x.quantity) for x in p.lines))
                                      for p in purchases])
    hints = _capture_hints(links, purchases)
    for p in purchases:
        _decide_order(p.order, outcome, hints[p.session["id"]])
    Order.objects.bulk_create([p.order for p in purchases])
    OrderLine.objects.bulk_create(line for p in purchases for line in _order_lines(p))
    stripe_jobs_record([job for p in purchases if (job := _settlement_job(p, hints[p.session["id"]]))])
    transaction.on_commit(partial(metrics.sales_applied, sold=len(purchases) - len(outcome.short),
                                  oversold=len(outcome.short)))


def _decide_order(order: Order, outcome: SaleBatchOutcome, captured: bool | None) -> None:
    if order.checkout_session_id in outcome.short:
        short = InsufficientStock(outcome.short[order.checkout_session_id])
        order.status = Order.Status.OVERSOLD
        order.resolution = f"Sold out before this payment: {short}. Money goes back."
        if not order.payment_intent_id:
            order.resolution += " No PaymentIntent on the session: refund by hand."
        return
    order.status, order.resolution = Order.Status.FULFILLED, "Stock taken."
    if order.payment_intent_id:
        order.capture = Order.Capture.NOT_NEEDED if captured else Order.Capture.PENDING


def _settlement_job(p: _Purchase, captured: bool | None) -> StripeJob | None:
    order, ref = p.order, p.session["id"]
    if not order.payment_intent_id:
        return None
    if order.status == Order.Status.OVERSOLD:
        action, key = StripeJob.Action.GIVE_BACK, f"give_back:{ref}"
    elif order.capture == Order.Capture.PENDING:
        action, key = StripeJob.Action.CAPTURE, f"capture:{ref}"
    else:
        return None
    return StripeJob(action=action, key=key, order=order, payment_intent_id=order.payment_intent_id, captured=captured)


def _capture_hints(links: dict, purchases: list[_Purchase]) -> dict[str, bool | None]:
    """Whether each session's money is already captured: from its Payment Link's capture method as
    Stripe last told us, else from the session's payment_status (`paid`: the funds are in the
    account; `unpaid`: only authorised, as with manual capture); None = ask Stripe first."""
    pushed = dict(LinkSync.objects.filter(product_id__in=[p.pk for p in links.values()]).values_list(
        "product_id", "pushed"))
    hints = {}
    for p in purchases:
        product = links.get(p.session.get("payment_link") or "")
        method = ((product and pushed.get(product.pk)) or {}).get("capture_method")
        if method in ("automatic", "automatic_async", "manual"):
            hints[p.session["id"]] = method != "manual"
        else:
            hints[p.session["id"]] = {"paid": True, "unpaid": False}.get(p.session.get("payment_status"))
    return hints


def _order_lines(p: _Purchase) -> list[OrderLine]:
    totals: dict[int, PurchasedLine] = {}
    for x in p.lines:
        prior = totals.get(x.product_id)
        totals[x.product_id] = PurchasedLine(x.product_id, x.quantity + (prior.quantity if prior else 0), x.price_id)
    return [OrderLine(order=p.order, product_id=x.product_id, quantity=x.quantity, stripe_price_id=x.price_id)
            for x in totals.values()]


def _order(session: dict, intake: IntakeEvent, stores: set[str], link_product, status: str, resolution: str) -> Order:
    store_id = (session.get("metadata") or {}).get("store_id") or None
    if store_id not in stores:
        store_id = None
    return Order(checkout_session_id=session["id"], stripe_event_id=intake.event_id,
                 payment_intent_id=session.get("payment_intent") or "", payment_link_id=session.get("payment_link") or "",
                 store_id=store_id or (link_product.store_id if link_product else None), status=status,
                 resolution=resolution, amount_total=session.get("amount_total"), currency=session.get("currency") or "",
                 customer_email=((session.get("customer_details") or {}).get("email") or "")[:254])


def _await_line_items(waiting: list[IntakeEvent], sessions: dict) -> None:
    if not waiting:
        return
    IntakeEvent.objects.filter(pk__in=[i.pk for i in waiting]).update(state=IntakeEvent.State.AWAITING_LINES)
    stripe_jobs_record([StripeJob(action=StripeJob.Action.LINE_ITEMS, key=f"line_items:{sessions[i.pk]['id']}",
                                  intake=i) for i in waiting])


def _follow_payments(intakes: list[IntakeEvent], objects: dict) -> list[int]:
    """Our checkouts' PaymentIntents carry their checkout id: read the intent and decide (a job).
    Payment Link intents are left alone: their session's event is what counts."""
    named = {i.pk: uuid_or_none(((objects.get(i.event_id) or {}).get("metadata") or {}).get("checkout"))
             for i in intakes}
    known = set(Checkout.objects.filter(pk__in=[c for c in named.values() if c]).values_list("pk", flat=True))
    stripe_jobs_record([StripeJob(action=StripeJob.Action.FOLLOW, key=f"follow:{i.event_id}", intake=i,
                                  checkout_id=named[i.pk])
                        for i in intakes if named[i.pk] in known])
    return [i.pk for i in intakes]


def intake_drain(*, seconds: float, batch_size: int) -> int:
    """Apply ready events batch after batch until none is left or `seconds` have passed."""
    deadline, applied = time.monotonic() + seconds, 0
    while time.monotonic() < deadline:
        claimed = intake_apply_batch(limit=batch_size)
        if not claimed:
            break
        applied += claimed
    return applied


def intake_waiting() -> bool:
    return IntakeEvent.objects.filter(state=IntakeEvent.State.READY).exists()
