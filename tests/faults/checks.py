"""Purchases for a fault test, and what must hold once it settles: every purchase applied exactly
once, in our database and at Stripe."""

from __future__ import annotations

import inspect
import re
from collections import Counter
from dataclasses import dataclass
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db.models import Sum
from djstripe.models import Event

from inventory.models import Product, StockMovement
from inventory.selectors import stock_drift
from payments.models import Order
from tests.faults.processes import wait_until
from tests.payments.helpers import purchase

REFUNDS = "/v1/refunds"
CANCEL = r"/v1/payment_intents/([^/]+)/cancel"
CAPTURE = r"/v1/payment_intents/([^/]+)/capture"
LINK_UPDATE = r"/v1/payment_links/([^/]+)"
SIDE_EFFECTS = (REFUNDS, CANCEL, CAPTURE, LINK_UPDATE)
SETTLED = (Order.Status.FULFILLED, Order.Status.REFUNDED, Order.Status.CANCELLED)


def session_of(event: dict) -> str:
    return event["data"]["object"]["id"]


# Purchases whose session names no Payment Link, so the store must fetch its line items from Stripe
# (only once tests.payments.helpers.purchase offers it).
WITHOUT_LINK = "via_link" in inspect.signature(purchase).parameters


def _purchase(fake, product: Product, i: int) -> dict:
    capture = "manual" if i % 2 == 0 else "automatic"
    if WITHOUT_LINK and i % 3 == 2:
        return purchase(fake, product, capture=capture, via_link=False)
    return purchase(fake, product, capture=capture)


@dataclass
class Burst:
    """One-unit purchases of one product, alternating manual and automatic capture; every third
    one without its Payment Link on the session."""

    product: Product
    stock: int  # units before the burst
    events: list[dict]
    capture: dict[str, str]  # session id -> capture method

    @classmethod
    def prepare(cls, fake, product: Product, n: int) -> Burst:
        events = [_purchase(fake, product, i) for i in range(n)]
        capture = {session_of(e): "manual" if i % 2 == 0 else "automatic" for i, e in enumerate(events)}
        product.refresh_from_db()
        return cls(product, product.inventory, events, capture)

    @property
    def sessions(self) -> list[str]:
        return list(self.capture)

    @property
    def sold(self) -> int:
        return min(self.stock, len(self.events))

    def orders(self) -> dict[str, Order]:
        return {o.checkout_session_id: o for o in Order.objects.filter(checkout_session_id__in=self.sessions)}


# ---- waiting


def settled(fake, bursts: list[Burst]) -> bool:
    """Every purchase has its final order, captured if it won, and each link matches its stock."""
    return all(_burst_settled(fake, burst) for burst in bursts)


def _burst_settled(fake, burst: Burst) -> bool:
    orders = Order.objects.filter(checkout_session_id__in=burst.sessions)
    return (orders.filter(status__in=SETTLED).count() == len(burst.sessions)
            and not orders.filter(status=Order.Status.FULFILLED, capture=Order.Capture.PENDING).exists()
            and link_in_step(fake, Product.objects.get(pk=burst.product.pk)))


def link_in_step(fake, product: Product) -> bool:
    link = fake.get("payment_link", product.payment_link_id)
    if bool(link["active"]) != (product.inventory > 0):
        return False
    completed = (link.get("restrictions") or {}).get("completed_sessions") or {}
    return not link["active"] or completed.get("limit") == completed.get("count", 0) + product.inventory


def describe(fake, bursts: list[Burst]) -> str:
    """Where things stand, for a failure message."""
    lines = []
    for burst in bursts:
        product = Product.objects.get(pk=burst.product.pk)
        orders = burst.orders()
        link = fake.get("payment_link", product.payment_link_id)
        stored = Event.objects.filter(id__in=[e["id"] for e in burst.events]).count()
        lines.append(
            f"product {product.pk}: stock {burst.stock} -> {product.inventory} (ledger {_ledger_total(product)}); "
            f"{len(burst.events)} purchases, events stored {stored}, "
            f"orders {len(orders)}: {dict(Counter(o.status for o in orders.values()))}, "
            f"captures {dict(Counter(o.capture for o in orders.values() if o.status == Order.Status.FULFILLED))}; "
            f"link active={link['active']} restrictions={link.get('restrictions')}")
    return "\n".join(lines)


def wait_settled(fake, bursts: list[Burst], deliverer, deliveries, *, seconds: float) -> tuple[list[str], bool]:
    """Wait up to `seconds` for the deliveries to be answered, then up to `seconds` for the bursts to
    settle; returns the deliveries not answered 2xx and whether the bursts settled."""
    undelivered = deliverer.wait(deliveries, timeout=seconds)
    return undelivered, wait_until(lambda: settled(fake, bursts), seconds, interval=0.5)


# ---- the promise


def assert_settled_exactly_once(fake, bursts: list[Burst], *, undelivered: list[str], done: bool, since: int,
                                deliverer, stack, when: str) -> None:
    """Every delivery answered 2xx, the bursts settled (`when`: how long after what), and each
    purchase applied exactly once."""
    assert undelivered == [], f"deliveries never answered 2xx: {undelivered[:5]}; {deliverer.summary()}"
    assert done, f"not settled {when}:\n{describe(fake, bursts)}\nprocesses:\n{stack.processes.status()}"
    assert_applied_exactly_once(fake, bursts, since=since)


def assert_applied_exactly_once(fake, bursts: list[Burst], *, since: int = 0) -> None:
    """`since`: index into the fake's request log where this test's purchases started."""
    for burst in bursts:
        assert_burst_applied_once(fake, burst)
    assert_stripe_acted_once(fake, bursts, since=since)
    assert stock_drift() == []
    assert_reconcile_clean()


def assert_burst_applied_once(fake, burst: Burst) -> None:
    assert Event.objects.filter(id__in=[e["id"] for e in burst.events]).count() == len(burst.events)
    orders = burst.orders()
    missing = set(burst.sessions) - set(orders)
    assert not missing, f"{len(missing)} purchase(s) without an order, e.g. {sorted(missing)[:3]}"
    fulfilled = [s for s, o in orders.items() if o.status == Order.Status.FULFILLED]
    assert len(fulfilled) == burst.sold, f"{len(fulfilled)} fulfilled, {burst.sold} units were for sale"
    wrong = [f"{s}: {o.status} ({burst.capture[s]} capture)" for s, o in orders.items()
             if s not in fulfilled and o.status != _money_back_status(burst.capture[s])]
    assert not wrong, f"oversold purchases not given their money back the right way: {wrong}"
    assert not [s for s in fulfilled if orders[s].capture == Order.Capture.PENDING], "fulfilled, never captured"
    _assert_ledger(burst, fulfilled)
    assert link_in_step(fake, Product.objects.get(pk=burst.product.pk)), describe(fake, [burst])


def _money_back_status(capture: str) -> str:
    return Order.Status.CANCELLED if capture == "manual" else Order.Status.REFUNDED


def _assert_ledger(burst: Burst, fulfilled: list[str]) -> None:
    sales = StockMovement.objects.filter(product=burst.product, source__in=burst.sessions)
    assert Counter(sales.values_list("source", flat=True)) == Counter(fulfilled), "one ledger row per sale"
    assert set(sales.values_list("delta", flat=True)) <= {-1}
    product = Product.objects.get(pk=burst.product.pk)
    assert product.inventory == burst.stock - burst.sold
    assert _ledger_total(product) == product.inventory


def _ledger_total(product: Product) -> int:
    return StockMovement.objects.filter(product=product).aggregate(total=Sum("delta"))["total"] or 0


def assert_stripe_acted_once(fake, bursts: list[Burst], *, since: int = 0) -> None:
    """One executed (not replayed) Stripe call per refund, cancel and capture due, each under its
    own idempotency key; no call Stripe refused; the money where it should be."""
    orders = [o for burst in bursts for o in burst.orders().values()]
    manual = {o.payment_intent_id for burst in bursts for s, o in burst.orders().items()
              if burst.capture[s] == "manual"}
    by_status = {status: [o for o in orders if o.status == status] for status in SETTLED}
    refunds = executed(fake, "POST", REFUNDS, since)
    assert len(refunds) == len(by_status[Order.Status.REFUNDED]), f"{len(refunds)} refunds executed"
    cancels = Counter(_intent(c, CANCEL) for c in executed(fake, "POST", CANCEL, since))
    assert cancels == Counter(o.payment_intent_id for o in by_status[Order.Status.CANCELLED])
    captures = Counter(_intent(c, CAPTURE) for c in executed(fake, "POST", CAPTURE, since))
    assert captures == Counter(o.payment_intent_id for o in by_status[Order.Status.FULFILLED]
                               if o.payment_intent_id in manual)
    for path in SIDE_EFFECTS:
        keys = [c["idempotency_key"] for c in executed(fake, "POST", path, since)]
        assert all(keys), f"{path}: executed without an idempotency key"
        assert [k for k, n in Counter(keys).items() if n > 1] == [], f"{path}: one key executed twice"
    refused = [f"{c['method']} {c['path']} -> {c['status']}" for c in calls_since(fake, since, "POST", *SIDE_EFFECTS)
               if c["status"] not in (200, 409, 429) and c["status"] < 500]
    assert refused == [], f"Stripe refused calls (a repeat of something already done?): {refused[:10]}"
    assert_money_at_stripe(fake, orders)


def assert_money_at_stripe(fake, orders: list[Order]) -> None:
    sdk = fake.sdk_client()
    wrong = []
    for order in orders:
        intent = sdk.v1.payment_intents.retrieve(order.payment_intent_id)
        want = "canceled" if order.status == Order.Status.CANCELLED else "succeeded"
        refunds = [r.id for r in sdk.v1.refunds.list({"payment_intent": intent.id})] if want == "succeeded" else []
        want_refunds = [order.refund_id] if order.status == Order.Status.REFUNDED else []
        if intent.status != want or refunds != want_refunds:
            wrong.append(f"{order.checkout_session_id} {order.status}: intent {intent.status}, refunds {refunds}")
    assert wrong == [], f"money at Stripe does not match the orders: {wrong[:10]}"


def assert_reconcile_clean() -> None:
    out = StringIO()
    try:
        call_command("reconcile_stock", stdout=out, stderr=out)
    except (CommandError, SystemExit) as exc:
        pytest.fail(f"reconcile_stock failed: {exc}\n{out.getvalue()}")


# ---- the fake's request log


def calls_since(fake, since: int, method: str, *paths: str) -> list[dict]:
    return [c for c in list(fake.requests[since:])
            if c["method"] == method and any(re.fullmatch(p, c["path"]) for p in paths)]


def executed(fake, method: str, path: str, since: int = 0) -> list[dict]:
    """Calls Stripe carried out: answered 200 and not an idempotent replay."""
    return [c for c in calls_since(fake, since, method, path) if c["status"] == 200 and not c["replayed"]]


def _intent(call: dict, path: str) -> str:
    return re.fullmatch(path, call["path"]).group(1)

