"""The only writer of stock. Every change writes a StockMovement in the same transaction.

A movement is unique per (product, source): replaying a change with the same source is a no-op
that returns the movement already written. Inside the transaction each change sends `stock_moved`
(payments records that the Payment Link must follow); after commit it broadcasts the new stock and
sends `stock_changed` (the waitlist listens).
"""

from dataclasses import dataclass, field

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from common import words

from .broadcast import stock_broadcast, stock_broadcast_on_commit
from .exceptions import InsufficientStock, InvalidStockChange, Refusal, Shortfall, StockConflict
from .locks import LockedProduct, products_lock, products_lock_for_hold, products_lock_with_holds
from .models import STOCK_MAX, Product, Reservation, RetiredScanCode, StockMovement, new_scan_code
from .signals import HoldFacts, stock_moved


@dataclass(frozen=True)
class StockLine:
    product_id: int
    quantity: int


@dataclass(frozen=True)
class Sale:
    """One purchase to decide in a batch: all its lines or none. `source` is its ledger reference."""

    source: str
    lines: tuple[StockLine, ...]


@dataclass
class SaleBatchOutcome:
    sold: list[str] = field(default_factory=list)
    short: dict[str, list[Shortfall]] = field(default_factory=dict)
    replayed: list[str] = field(default_factory=list)


def stock_decrease(*, product: Product, quantity: int, source: str, reason: str = StockMovement.Reason.SALE,
                   actor=None) -> StockMovement:
    """Take `quantity` units if they are all there; raise InsufficientStock otherwise.

    Locks: the product row, through the conditional UPDATE, until commit.
    Triggers (after commit): stock broadcast, stock_changed.
    """
    return stock_decrease_lines(lines=[StockLine(product.pk, quantity)], source=source, reason=reason,
                                actor=actor)[0]


def stock_decrease_lines(*, lines: list[StockLine], source: str, reason: str = StockMovement.Reason.SALE,
                         actor=None, hold_ref: str | None = None) -> list[StockMovement]:
    """Take every line or none: shortfalls on any line are collected and raised together.

    Units held by other checkouts' unexpired reservations are not for sale. With `hold_ref`, the
    lines were held by that checkout: its own hold does not count against it, and on success its
    reservations become sold.

    Locks: each product row (SELECT … FOR UPDATE, then a conditional UPDATE), in primary-key order
    so that two multi-line orders can never deadlock. Triggers (after commit): broadcast and
    stock_changed per product.
    """
    _check_quantities(lines)
    merged = _merge_lines(lines)
    with transaction.atomic():
        replayed = _movements_for_source(source, merged)
        if replayed is not None:
            return replayed
        try:
            with transaction.atomic():
                movements = _decrease_all_or_raise(merged, source=source, reason=reason, actor=actor,
                                                   hold_ref=hold_ref)
                if hold_ref:
                    reservations_mark_sold(hold_ref=hold_ref)
                return movements
        except (IntegrityError, InsufficientStock):
            # A concurrent delivery of the same source won the race and has committed (and may
            # have taken the last units, so ours found none): a replay, not a shortfall.
            replayed = _movements_for_source(source, merged)
            if replayed is None:
                raise
            return replayed


def stock_sell_batch(*, sales: list[Sale]) -> SaleBatchOutcome:
    """Decide many sales in one transaction, in the order given (callers pass Stripe's event order):
    a sale wins when every line still fits in what is available, else it is short and takes nothing.

    The outcome depends only on that order, never on how sales were cut into batches: each batch
    starts from the committed stock of the one before. A source already in the ledger is a replay.
    Writes one conditional UPDATE per product and one ledger row per sale and product.

    Locks: the products (SELECT … FOR UPDATE, pk order) until commit. Triggers: stock_moved per
    product (in the transaction); one broadcast per product after commit.
    """
    for sale in sales:
        _check_quantities(list(sale.lines))
    outcome = SaleBatchOutcome()
    with transaction.atomic():
        product_ids = sorted({line.product_id for sale in sales for line in sale.lines})
        on_hand, held = products_lock_with_holds(product_ids)
        free = {pid: on_hand.get(pid, 0) - held[pid] for pid in product_ids}
        balance = dict(on_hand)
        done = _sources_in_ledger([sale.source for sale in sales], product_ids)
        names = {p.pk: p.display_name for p in Product.objects.filter(pk__in=product_ids).only("name", "size", "colour")}
        movements = []
        for sale in sales:
            if sale.source in done:
                outcome.replayed.append(sale.source)
                continue
            done.add(sale.source)
            lines = _merge_lines(list(sale.lines))
            short = [Shortfall(product_id=x.product_id, product_name=names.get(x.product_id, "?"),
                               requested=x.quantity, available=max(free[x.product_id], 0))
                     for x in lines if free[x.product_id] < x.quantity]
            if short:
                outcome.short[sale.source] = short
                continue
            for x in lines:
                free[x.product_id] -= x.quantity
                balance[x.product_id] -= x.quantity
                movements.append(StockMovement(product_id=x.product_id, delta=-x.quantity, source=sale.source,
                                               reason=StockMovement.Reason.SALE,
                                               balance_after=balance[x.product_id]))
            outcome.sold.append(sale.source)
        _take_batch_totals(movements)
        StockMovement.objects.bulk_create(movements)
        for product_id in sorted({m.product_id for m in movements}):
            _availability_changed(product_id)
    return outcome


def _sources_in_ledger(sources: list[str], product_ids: list[int]) -> set[str]:
    return set(StockMovement.objects.filter(source__in=sources, product_id__in=product_ids)
               .values_list("source", flat=True))


def _take_batch_totals(movements: list[StockMovement]) -> None:
    totals: dict[int, int] = {}
    for m in movements:
        totals[m.product_id] = totals.get(m.product_id, 0) - m.delta
    for product_id, quantity in sorted(totals.items()):
        taken = Product.objects.filter(pk=product_id, inventory__gte=quantity).update(
            inventory=F("inventory") - quantity)
        if not taken:  # impossible while we hold the row lock; never write a ledger that lies
            raise InvalidStockChange(f"Product {product_id} lost stock while locked.")


def stock_increase(*, product: Product, quantity: int, source: str, reason: str = StockMovement.Reason.RESTOCK,
                   actor=None, note: str = "") -> StockMovement:
    """Add `quantity` units.

    Locks: the product row (UPDATE) until commit. Triggers (after commit): broadcast, stock_changed.
    """
    _check_quantities([StockLine(product.pk, quantity)])
    return _apply_delta(product_id=product.pk, delta=quantity, source=source, reason=reason, actor=actor,
                        note=note)


def stock_set(*, product: Product, level: int, source: str, actor=None, note: str = "") -> StockMovement | None:
    """Set stock to an absolute level (a staff count); None when it is already there. A level below
    the units held for buyers is refused (StockConflict), as in stock_apply.

    Locks: the product row with SELECT … FOR UPDATE, so the delta is computed from a value no one
    else can change before commit. Triggers (after commit): broadcast, stock_changed.
    """
    if not isinstance(level, int) or isinstance(level, bool) or level < 0:
        raise InvalidStockChange(f"Stock level must be a whole number ≥ 0, not {level!r}.")
    with transaction.atomic():
        current = Product.objects.select_for_update(of=("self",)).values_list("inventory", flat=True).get(
            pk=product.pk
        )
        if current == level:
            return None
        _deltas_or_refuse([StockChange(product.pk, reason=StockMovement.Reason.ADJUSTMENT, level=level)],
                          {product.pk: current}, Reservation.objects.live().units_per_product([product.pk]))
        reason = StockMovement.Reason.RESTOCK if level > current else StockMovement.Reason.ADJUSTMENT
        return _apply_delta(product_id=product.pk, delta=level - current, source=source, reason=reason,
                            actor=actor, note=note)


@dataclass(frozen=True)
class StockChange:
    """One product's part in a staff operation: add or take `delta` units, or set stock to `level`
    (computed under the row lock). `reason` is a StockMovement.Reason."""

    product_id: int
    reason: str
    delta: int | None = None
    level: int | None = None
    note: str = ""


def stock_apply(*, changes: list[StockChange], source: str, actor=None) -> list[StockMovement]:
    """Apply every change or none, in one transaction (counts, moves between booths, deliveries,
    imports); one ledger row per product that moved, all under `source`.

    A change may never leave a product with fewer units than live reservations hold for buyers
    (so never below zero, and available never negative): every such product is named in one
    refusal and nothing changes. Increases are never refused. A source already in the
    ledger for any of these products is a replay: its rows are returned, nothing changes. Raises
    StockConflict (a StockChangeRefused) for refusals.

    Locks: the products (SELECT … FOR UPDATE, pk order) until commit, so the held units, the levels
    and the deltas are read from rows no one else can change meanwhile. Triggers: stock_moved per
    product (in the transaction); broadcast and stock_changed after commit.
    """
    _check_changes(changes)
    with transaction.atomic():
        ids = sorted(c.product_id for c in changes)
        on_hand = products_lock(ids)
        replayed = list(StockMovement.objects.filter(source=source, product_id__in=ids).order_by("product_id"))
        if replayed:
            return replayed
        held = Reservation.objects.live().units_per_product(ids)
        deltas = _deltas_or_refuse(changes, on_hand, held)
        movements = []
        for change in sorted(changes, key=lambda c: c.product_id):
            delta = deltas[change.product_id]
            if delta:
                Product.objects.filter(pk=change.product_id).update(inventory=F("inventory") + delta)
                movements.append(_record(product_id=change.product_id, delta=delta, source=source,
                                         reason=change.reason, actor=actor, note=change.note))
        return movements


def _check_changes(changes: list[StockChange]) -> None:
    if not changes:
        raise InvalidStockChange("A stock change needs at least one line.")
    if len({c.product_id for c in changes}) != len(changes):
        raise InvalidStockChange("One change per product: merge the lines first.")
    for c in changes:
        if c.reason not in StockMovement.Reason.values:
            raise InvalidStockChange(f"Unknown reason {c.reason!r}.")
        if (c.delta is None) == (c.level is None):
            raise InvalidStockChange("A change has either a delta or a level.")
        value = c.delta if c.level is None else c.level
        if not isinstance(value, int) or isinstance(value, bool) or (c.level is not None and c.level < 0):
            raise InvalidStockChange(f"Stock must change by a whole number, to a level ≥ 0, not {value!r}.")


def _deltas_or_refuse(changes: list[StockChange], on_hand: dict[int, int], held: dict[int, int]) -> dict[int, int]:
    names = {p.pk: p.display_name for p in Product.objects.filter(pk__in=on_hand).only("name", "size", "colour")}
    deltas, refusals = {}, []
    for c in changes:
        if c.product_id not in on_hand:
            refusals.append(Refusal(c.product_id, "", f"no product with id {c.product_id}"))
            continue
        current, units_held = on_hand[c.product_id], held[c.product_id]
        delta = c.delta if c.level is None else c.level - current
        if delta < 0 and current + delta < units_held:
            refusals.append(Refusal(c.product_id, names[c.product_id], _below_held(current, delta, units_held)))
        elif current + delta > STOCK_MAX:
            refusals.append(Refusal(c.product_id, names[c.product_id], f"would make {current + delta:,} in stock, "
                                                                       f"above the most one product may have ({STOCK_MAX:,})"))
        deltas[c.product_id] = delta
    if refusals:
        raise StockConflict(refusals)
    return deltas


def _below_held(current: int, delta: int, held: int) -> str:
    if current + delta < 0:
        return f"only {current} in stock, cannot take {-delta}"
    return (f"would leave {current + delta} in stock, below the {words.units(held)} held for buyers in checkout "
            f"(at most {max(current - held, 0)} can be taken now)")


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


def _decrease_all_or_raise(lines: list[StockLine], *, source: str, reason: str, actor,
                           hold_ref: str | None) -> list[StockMovement]:
    ids = [x.product_id for x in lines]
    _, held = products_lock_with_holds(ids, except_hold=hold_ref)
    shortfalls = []
    for line in lines:
        taken = Product.objects.filter(pk=line.product_id, inventory__gte=line.quantity + held[line.product_id]).update(
            inventory=F("inventory") - line.quantity
        )
        if not taken:
            shortfalls.append(_shortfall(line, held[line.product_id]))
    if shortfalls:
        raise InsufficientStock(shortfalls)
    return [_record(product_id=x.product_id, delta=-x.quantity, source=source, reason=reason, actor=actor)
            for x in lines]


def _shortfall(line: StockLine, held: int = 0) -> Shortfall:
    product = Product.objects.only("name", "size", "colour", "inventory").get(pk=line.product_id)
    return Shortfall(product_id=line.product_id, product_name=product.display_name, requested=line.quantity,
                     available=max(product.inventory - held, 0))


def _apply_delta(*, product_id: int, delta: int, source: str, reason: str, actor, note: str = "") -> StockMovement:
    existing = StockMovement.objects.filter(product_id=product_id, source=source).first()
    if existing is not None:
        return existing
    try:
        with transaction.atomic():
            Product.objects.filter(pk=product_id).update(inventory=F("inventory") + delta)
            return _record(product_id=product_id, delta=delta, source=source, reason=reason, actor=actor,
                           note=note)
    except IntegrityError:
        # A concurrent change with the same source won the race and has committed.
        existing = StockMovement.objects.filter(product_id=product_id, source=source).first()
        if existing is None:
            raise
        return existing


def _record(*, product_id: int, delta: int, source: str, reason: str, actor, note: str = "") -> StockMovement:
    # The UPDATE above holds the row lock until commit, so this read sees our own write and no other.
    balance = Product.objects.values_list("inventory", flat=True).get(pk=product_id)
    movement = StockMovement.objects.create(product_id=product_id, delta=delta, reason=reason, source=source,
                                            balance_after=balance, actor=actor, note=note[:255])
    _availability_changed(product_id)
    return movement


def _availability_changed(product_id: int, *, hold: HoldFacts | None = None) -> None:
    """Inside the changing transaction: tell receivers now (durable follow-up), pages after commit."""
    stock_moved.send(sender=_availability_changed, product_id=product_id, hold=hold)
    stock_broadcast_on_commit(product_id, hold=hold)


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

    Triggers: stock_moved (in the transaction), so payments brings the link in step.
    """
    with transaction.atomic():
        Product.objects.filter(pk=product.pk).update(payment_link_paused=paused)
        stock_moved.send(sender=product_link_pause, product_id=product.pk)


def product_scan_code_renew(*, product: Product) -> str:
    """Give the product a new QR code; the old one is kept as retired, so a scan of it says so."""
    with transaction.atomic():
        old = Product.objects.select_for_update().values_list("scan_code", flat=True).get(pk=product.pk)
        RetiredScanCode.objects.get_or_create(code=old, defaults={"product_id": product.pk})
        new = new_scan_code()
        Product.objects.filter(pk=product.pk).update(scan_code=new)
        product.scan_code = new
        return new


def stock_reserve_lines(*, lines: list[StockLine], hold_ref: str, expires_at,
                        locked: dict[int, LockedProduct] | None = None, new_hold: bool = False) -> list[Reservation]:
    """Hold every line for a checkout until `expires_at`, or none: raise InsufficientStock naming
    each short line. Reserving again with the same hold_ref returns the existing holds.

    `locked`: the products as the caller's products_lock_for_hold returned them in this transaction
    (not locked again). `new_hold`: the caller knows no hold with this hold_ref exists (a checkout
    created in this transaction), so none is looked for. Both save a keynote rush's winners a query.
    Locks: the product rows (SELECT … FOR UPDATE, pk order), so availability (stock minus unexpired
    holds) cannot change between the check and the insert. Triggers: stock_moved per product, and
    after commit broadcast and stock_changed, each with the hold's facts (inventory.signals.HoldFacts).
    """
    _check_quantities(lines)
    merged = _merge_lines(lines)
    # No savepoint inside a caller's transaction (two round trips saved on a burst's hot path): a
    # refusal raises, and the caller's transaction rolls back with it.
    with transaction.atomic(savepoint=False):
        if not new_hold and (existing := list(Reservation.objects.filter(hold_ref=hold_ref))):
            return existing
        ids = [x.product_id for x in merged]
        locked = products_lock_for_hold(ids) if locked is None else locked
        held = Reservation.objects.live().units_per_product(ids)
        short = [_shortfall(x, held[x.product_id]) for x in merged
                 if x.product_id not in locked or locked[x.product_id].inventory - held[x.product_id] < x.quantity]
        if short:
            raise InsufficientStock(short)
        reservations = Reservation.objects.bulk_create(
            Reservation(product_id=x.product_id, hold_ref=hold_ref, quantity=x.quantity, expires_at=expires_at)
            for x in merged)
        for x in merged:
            row = locked[x.product_id]
            _availability_changed(x.product_id, hold=HoldFacts(
                available=row.inventory - held[x.product_id] - x.quantity,
                low_stock_threshold=row.low_stock_threshold, link_follows_stock=row.link_follows_stock))
        return reservations


def reservation_release(*, hold_ref: str, reason: str) -> list[int]:
    """Give a checkout's held units back; returns the products whose availability rose.

    Locks: the reservation rows. No product lock is needed: releasing only makes more available.
    Triggers (after commit): broadcast and stock_changed per product.
    """
    with transaction.atomic():
        held = list(Reservation.objects.select_for_update().filter(hold_ref=hold_ref,
                                                                   state=Reservation.State.HELD))
        Reservation.objects.filter(pk__in=[r.pk for r in held]).update(
            state=Reservation.State.RELEASED, closed_at=timezone.now(), close_reason=reason[:255])
        for product_id in sorted({r.product_id for r in held}):
            _availability_changed(product_id)
        return [r.product_id for r in held]


def reservations_mark_sold(*, hold_ref: str) -> None:
    Reservation.objects.filter(hold_ref=hold_ref, state=Reservation.State.HELD).update(
        state=Reservation.State.SOLD, closed_at=timezone.now(), close_reason="paid")


def reservations_release_expired() -> list[str]:
    """Release every hold whose time ran out; returns their hold refs."""
    expired = (Reservation.objects.filter(state=Reservation.State.HELD, expires_at__lte=timezone.now())
               .values_list("hold_ref", flat=True).distinct())
    refs = list(expired)
    for ref in refs:
        reservation_release(hold_ref=ref, reason="expired")
    return refs
