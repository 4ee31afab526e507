"""The only writer of stock. Every change writes a StockMovement in the same transaction.

A movement is unique per (product, source): replaying a change with the same source is a no-op
that returns the movement already written. After commit, each change broadcasts the new stock and
sends `stock_changed` (payments listens to keep the Payment Link in step).
"""

from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.db.models import F

from .broadcast import stock_broadcast, stock_broadcast_on_commit
from .exceptions import InsufficientStock, InvalidStockChange, Shortfall
from .models import Product, StockMovement
from .signals import stock_changed


@dataclass(frozen=True)
class StockLine:
    product_id: int
    quantity: int


def stock_decrease(*, product: Product, quantity: int, source: str, reason: str = StockMovement.Reason.SALE,
                   actor=None) -> StockMovement:
    """Take `quantity` units if they are all there; raise InsufficientStock otherwise.

    Locks: the product row, through the conditional UPDATE, until commit.
    Triggers (after commit): stock broadcast, stock_changed.
    """
    return stock_decrease_lines(lines=[StockLine(product.pk, quantity)], source=source, reason=reason,
                                actor=actor)[0]


def stock_decrease_lines(*, lines: list[StockLine], source: str, reason: str = StockMovement.Reason.SALE,
                         actor=None) -> list[StockMovement]:
    """Take every line or none: shortfalls on any line are collected and raised together.

    Locks: each product row (conditional UPDATE), in primary-key order so that two multi-line
    orders can never deadlock. Triggers (after commit): broadcast and stock_changed per product.
    """
    _check_quantities(lines)
    merged = _merge_lines(lines)
    with transaction.atomic():
        replayed = _movements_for_source(source, merged)
        if replayed is not None:
            return replayed
        try:
            with transaction.atomic():
                return _decrease_all_or_raise(merged, source=source, reason=reason, actor=actor)
        except IntegrityError:
            # A concurrent delivery of the same source won the race and has committed.
            replayed = _movements_for_source(source, merged)
            if replayed is None:
                raise
            return replayed


def stock_increase(*, product: Product, quantity: int, source: str, reason: str = StockMovement.Reason.RESTOCK,
                   actor=None, note: str = "") -> StockMovement:
    """Add `quantity` units.

    Locks: the product row (UPDATE) until commit. Triggers (after commit): broadcast, stock_changed.
    """
    _check_quantities([StockLine(product.pk, quantity)])
    return _apply_delta(product_id=product.pk, delta=quantity, source=source, reason=reason, actor=actor,
                        note=note)


def stock_set(*, product: Product, level: int, source: str, actor=None, note: str = "") -> StockMovement | None:
    """Set stock to an absolute level (a staff count); None when it is already there.

    Locks: the product row with SELECT … FOR UPDATE, so the delta is computed from a value no one
    else can change before commit. Triggers (after commit): broadcast, stock_changed.
    """
    if not isinstance(level, int) or level < 0:
        raise InvalidStockChange(f"Stock level must be a whole number ≥ 0, not {level!r}.")
    with transaction.atomic():
        current = Product.objects.select_for_update(of=("self",)).values_list("inventory", flat=True).get(
            pk=product.pk
        )
        if current == level:
            return None
        reason = StockMovement.Reason.RESTOCK if level > current else StockMovement.Reason.ADJUSTMENT
        return _apply_delta(product_id=product.pk, delta=level - current, source=source, reason=reason,
                            actor=actor, note=note)


def _check_quantities(lines: list[StockLine]) -> None:
    if not lines:
        raise InvalidStockChange("A stock change needs at least one line.")
    for line in lines:
        if not isinstance(line.quantity, int) or isinstance(line.quantity, bool) or line.quantity <= 0:
            raise InvalidStockChange(f"Quantity must be a whole number > 0, not {line.quantity!r}.")


def _merge_lines(lines: list[StockLine]) -> list[StockLine]:
    totals: dict[int, int] = {}
    for line in lines:
        totals[line.product_id] = totals.get(line.product_id, 0) + line.quantity
    return [StockLine(pid, qty) for pid, qty in sorted(totals.items())]


def _movements_for_source(source: str, lines: list[StockLine]) -> list[StockMovement] | None:
    found = {m.product_id: m for m in StockMovement.objects.filter(source=source,
                                                                   product_id__in=[x.product_id for x in lines])}
    if not found:
        return None
    return [found[x.product_id] for x in lines if x.product_id in found]


def _decrease_all_or_raise(lines: list[StockLine], *, source: str, reason: str, actor) -> list[StockMovement]:
    shortfalls = []
    for line in lines:
        taken = Product.objects.filter(pk=line.product_id, inventory__gte=line.quantity).update(
            inventory=F("inventory") - line.quantity
        )
        if not taken:
            shortfalls.append(_shortfall(line))
    if shortfalls:
        raise InsufficientStock(shortfalls)
    return [_record(product_id=x.product_id, delta=-x.quantity, source=source, reason=reason, actor=actor)
            for x in lines]


def _shortfall(line: StockLine) -> Shortfall:
    name, available = Product.objects.values_list("name", "inventory").get(pk=line.product_id)
    return Shortfall(product_id=line.product_id, product_name=name, requested=line.quantity, available=available)


def _apply_delta(*, product_id: int, delta: int, source: str, reason: str, actor, note: str = "") -> StockMovement:
    existing = StockMovement.objects.filter(product_id=product_id, source=source).first()
    if existing is not None:
        return existing
    with transaction.atomic():
        Product.objects.filter(pk=product_id).update(inventory=F("inventory") + delta)
        return _record(product_id=product_id, delta=delta, source=source, reason=reason, actor=actor, note=note)


def _record(*, product_id: int, delta: int, source: str, reason: str, actor, note: str = "") -> StockMovement:
    # The UPDATE above holds the row lock until commit, so this read sees our own write and no other.
    balance = Product.objects.values_list("inventory", flat=True).get(pk=product_id)
    movement = StockMovement.objects.create(product_id=product_id, delta=delta, reason=reason, source=source,
                                            balance_after=balance, actor=actor, note=note[:255])
    stock_broadcast_on_commit(product_id)
    return movement


def product_link_state_record(*, product: Product, active: bool) -> None:
    """Remember what the Payment Link is at Stripe now; pages show it as payable or not.

    Triggers (after commit): a stock broadcast, since 'payable' is part of what pages show.
    """
    with transaction.atomic():
        changed = Product.objects.filter(pk=product.pk).exclude(payment_link_active=active).update(
            payment_link_active=active)
        if changed:
            transaction.on_commit(lambda: stock_broadcast(product.pk))


def product_link_pause(*, product: Product, paused: bool) -> None:
    """Staff switch a link off (stays off whatever the stock) or back to following stock.

    Triggers (after commit): stock_changed, so payments brings the link in step.
    """
    with transaction.atomic():
        Product.objects.filter(pk=product.pk).update(payment_link_paused=paused)
        transaction.on_commit(lambda: stock_changed.send(sender=product_link_pause, product_id=product.pk))
