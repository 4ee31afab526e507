"""The end-of-day report of one booth: what sold, what it brought in, what went back, what is left.

A day runs from midnight to midnight in the booth's time zone (Store.time_zone). Every figure comes
from a record:

- units sold: the ledger's sale rows of the day, less its return rows (a sold checkout whose
  authorisation was cancelled after all); the chart counts sale rows per hour;
- revenue: for each sale row of the day, the money of its purchase as recorded by payments and
  kept: a fulfilled Order (Payment Link session: its amount_total, shared between its lines in
  proportion to quantity × unit price) or a sold Checkout (quantity × the line's unit amount);
- refunds and cancelled authorisations: give-back Stripe jobs finished that day whose Order or
  Checkout ended refunded or cancelled; a cancellation avoided Stripe's fee on that amount:
  amount × STRIPE_FEE_PERCENT / 100 (rounded half up) + STRIPE_FEE_FIXED, in minor units;
- stock left: each product's ledger balance at the end of the day (its stock now, for today);
- sell-through: units sold ÷ (units sold + stock left), the share of what the booth had that day
  (what it started with plus what arrived) that it sold;
- other stock changes: the ledger's counts, damage, losses, give-aways, moves, deliveries and
  imports of the day, in units per reason;
- hand-overs: the day's sales (payments.handover) collected at the booth, and still waiting.
"""

import uuid
import zoneinfo
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings
from django.db.models import OuterRef, Q, Subquery, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone

from common.money import money
from common.times import store_zone
from inventory.models import Product, StockMovement, Store
from inventory.variants import variant_sort_key
from payments.handover.selectors import sale_list
from payments.models import Checkout, Order, StripeJob

SOLD_CHECKOUT = (Checkout.Status.AUTHORISED, Checkout.Status.PAID)


@dataclass
class ProductDay:
    product: Product
    sold: int = 0
    returned: int = 0
    revenue: int = 0
    stock_left: int = 0
    hourly: list[int] = field(default_factory=lambda: [0] * 24)

    @property
    def net_sold(self) -> int:
        return self.sold - self.returned

    @property
    def sell_through(self) -> Decimal | None:
        """Percent, one decimal; None when the booth had none of it all day."""
        had = self.net_sold + self.stock_left
        if had <= 0:
            return None
        return (Decimal(100 * self.net_sold) / had).quantize(Decimal("0.1"), ROUND_HALF_UP)


@dataclass(frozen=True)
class GiveBack:
    """Money that went back: a refund, or an authorisation cancelled before capture."""

    reference: str  # the Checkout Session id, or checkout:<id>
    items: str  # what was bought, for people: "2 × Logo tee (M)"
    cancelled: bool
    amount: int
    currency: str
    at: datetime
    fee_avoided: int  # 0 for refunds: Stripe keeps its fee on a refunded payment


@dataclass
class DayReport:
    store: Store
    day: date
    start: datetime
    end: datetime
    products: list[ProductDay]
    give_backs: list[GiveBack]
    currency: str
    generated_at: datetime
    fee_rule: str
    # Units per other ledger reason of the day ("Damaged" → -2), and the day's hand-overs.
    other_changes: list[tuple[str, int]] = field(default_factory=list)
    collected: int = 0
    waiting: int = 0

    # Totals: units, and amounts in minor units.
    units_sold = property(lambda self: sum(p.net_sold for p in self.products))
    revenue = property(lambda self: sum(p.revenue for p in self.products))
    stock_left = property(lambda self: sum(p.stock_left for p in self.products))
    refunds = property(lambda self: [g for g in self.give_backs if not g.cancelled])
    cancellations = property(lambda self: [g for g in self.give_backs if g.cancelled])
    refunded_amount = property(lambda self: sum(g.amount for g in self.refunds))
    cancelled_amount = property(lambda self: sum(g.amount for g in self.cancellations))
    fees_avoided = property(lambda self: sum(g.fee_avoided for g in self.cancellations))

    @property
    def sell_through(self) -> Decimal | None:
        had = self.units_sold + self.stock_left
        return (Decimal(100 * self.units_sold) / had).quantize(Decimal("0.1"), ROUND_HALF_UP) if had > 0 else None


def day_bounds(day: date, zone: zoneinfo.ZoneInfo | None = None) -> tuple[datetime, datetime]:
    tz = zone or timezone.get_current_timezone()
    start = timezone.make_aware(datetime.combine(day, time.min), tz)
    return start, timezone.make_aware(datetime.combine(day + timedelta(days=1), time.min), tz)


def stripe_fee(amount: int) -> int:
    """What Stripe would have kept on a captured payment of `amount` (minor units)."""
    percent = Decimal(settings.STRIPE_FEE_PERCENT)
    return int((Decimal(amount) * percent / 100).quantize(Decimal(1), ROUND_HALF_UP)) + settings.STRIPE_FEE_FIXED


def fee_rule_text(currency: str = "usd") -> str:
    return (f"Stripe's card fee ({settings.STRIPE_FEE_PERCENT} % + {money(settings.STRIPE_FEE_FIXED, currency)}) "
            f"on each payment cancelled before it was taken; Stripe keeps its fee on refunded payments")


def day_report(*, store: Store, day: date) -> DayReport:
    """The booth's figures for one day (a constant number of queries, whatever the number of sales)."""
    zone = store_zone(store.time_zone)
    start, end = day_bounds(day, zone)
    products = _products_with_stock_left(store, end)
    rows = {p.pk: ProductDay(product=p, stock_left=p.stock_left_at_end) for p in products}
    _add_sales(rows, store, start, end, zone)
    currencies = sorted({p.currency.lower() for p in products}) or [store.currency or "usd"]
    sales = sale_list(store_id=store.pk, since=start, until=end, limit=100_000)
    return DayReport(store=store, day=day, start=start, end=end, products=list(rows.values()),
                     give_backs=_give_backs(store, start, end), currency=currencies[0],
                     generated_at=timezone.now(), fee_rule=fee_rule_text(currencies[0]),
                     other_changes=_other_changes(store, start, end),
                     collected=sum(1 for s in sales if s.collected_at), waiting=sum(1 for s in sales if s.collectable))


OTHER_REASONS = (StockMovement.Reason.COUNT, StockMovement.Reason.DAMAGED, StockMovement.Reason.LOST,
                 StockMovement.Reason.GIVEN_AWAY, StockMovement.Reason.TRANSFER_OUT, StockMovement.Reason.TRANSFER_IN,
                 StockMovement.Reason.DELIVERY, StockMovement.Reason.RESTOCK, StockMovement.Reason.IMPORT,
                 StockMovement.Reason.ADJUSTMENT)


def _other_changes(store: Store, start: datetime, end: datetime) -> list[tuple[str, int]]:
    """(reason, units) for each ledger reason besides sales that moved stock that day, in a fixed order."""
    totals = dict(StockMovement.objects.filter(product__store=store, created_at__gte=start, created_at__lt=end,
                                               reason__in=OTHER_REASONS)
                  .order_by().values("reason").annotate(units=Sum("delta")).values_list("reason", "units"))
    return [(StockMovement.Reason(reason).label, totals[reason]) for reason in OTHER_REASONS if reason in totals]


def _products_with_stock_left(store: Store, end: datetime) -> list[Product]:
    last = (StockMovement.objects.filter(product=OuterRef("pk"), created_at__lt=end)
            .order_by("-created_at", "-id").values("balance_after")[:1])
    products = Product.objects.filter(store=store).annotate(stock_left_at_end=Coalesce(Subquery(last), 0))
    # Each product's sizes as people read them (S, M, L, XL), not as text sorts them.
    return sorted(products, key=lambda p: (p.name, p.stripe_product_id, variant_sort_key(p)))


def _add_sales(rows: dict[int, ProductDay], store: Store, start: datetime, end: datetime,
               zone: zoneinfo.ZoneInfo) -> None:
    movements = list(StockMovement.objects.filter(
        product__store=store, created_at__gte=start, created_at__lt=end,
        reason__in=(StockMovement.Reason.SALE, StockMovement.Reason.RETURN),
    ).values_list("product_id", "reason", "source", "delta", "created_at"))
    sales = [m for m in movements if m[1] == StockMovement.Reason.SALE]
    revenue = _revenue_per_sale(sales)
    for product_id, reason, source, delta, at in movements:
        row = rows[product_id]
        if reason == StockMovement.Reason.SALE:
            row.sold -= delta
            row.hourly[at.astimezone(zone).hour] -= delta
            row.revenue += revenue.get((source, product_id), 0)
        else:
            row.returned += delta


def _revenue_per_sale(sales: list[tuple]) -> dict[tuple[str, int], int]:
    """(source, product id) → the money kept for that sale row's units."""
    sources = {s[2] for s in sales}
    orders = Order.objects.filter(checkout_session_id__in=sources, status=Order.Status.FULFILLED).prefetch_related(
        "lines__product")
    checkout_ids = [_checkout_id(s) for s in sources if _checkout_id(s)]
    checkouts = Checkout.objects.filter(pk__in=checkout_ids, status__in=SOLD_CHECKOUT).prefetch_related("lines")
    money: dict[tuple[str, int], int] = {}
    for order in orders:
        weights = {x.product_id: x.quantity * (x.product.unit_amount or 1) for x in order.lines.all()}
        for product_id, share in _split(order.amount_total or 0, weights).items():
            money[(order.checkout_session_id, product_id)] = share
    for checkout in checkouts:
        for line in checkout.lines.all():
            money[(f"checkout:{checkout.pk}", line.product_id)] = line.quantity * line.unit_amount
    return money


def _checkout_id(source: str) -> uuid.UUID | None:
    if not source.startswith("checkout:"):
        return None
    try:
        return uuid.UUID(source.removeprefix("checkout:"))
    except ValueError:
        return None


def _split(amount: int, weights: dict[int, int]) -> dict[int, int]:
    """Share `amount` between products by weight, in whole minor units; the last gets the remainder."""
    total = sum(weights.values())
    if not weights or total <= 0:
        return {}
    ids = sorted(weights)
    shares = {pid: amount * weights[pid] // total for pid in ids[:-1]}
    shares[ids[-1]] = amount - sum(shares.values())
    return shares


def _give_backs(store: Store, start: datetime, end: datetime) -> list[GiveBack]:
    jobs = (StripeJob.objects.filter(action=StripeJob.Action.GIVE_BACK, state=StripeJob.State.DONE,
                                     done_at__gte=start, done_at__lt=end)
            .filter(Q(order__store=store) | Q(order__lines__product__store=store) | Q(checkout__store=store))
            .select_related("order", "checkout").prefetch_related("order__lines__product", "checkout__lines__product")
            .distinct().order_by("done_at", "id"))
    found = []
    for job in jobs:
        if job.order_id:
            status, ref, amount, currency = (job.order.status, job.order.checkout_session_id,
                                             job.order.amount_total or 0, job.order.currency)
            lines = job.order.lines.all()
        else:
            status, ref, amount, currency = (job.checkout.status, f"checkout:{job.checkout_id}", job.checkout.amount,
                                             job.checkout.currency)
            lines = job.checkout.lines.all()
        items = ", ".join(f"{line.quantity} × {line.product.display_name}" for line in lines) or "(no product of ours)"
        cancelled = status in (Order.Status.CANCELLED, Checkout.Status.CANCELLED)
        if cancelled or status in (Order.Status.REFUNDED, Checkout.Status.REFUNDED):
            found.append(GiveBack(reference=ref, items=items, cancelled=cancelled, amount=amount,
                                  currency=currency.lower(),
                                  at=job.done_at, fee_avoided=stripe_fee(amount) if cancelled else 0))
    return found

