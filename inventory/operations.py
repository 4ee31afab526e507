"""The booth's day: counting a booth, moving stock between booths, receiving a delivery.

Each operation checks its lines, then makes all its changes through inventory.services.stock_apply
in one transaction (all lines or none, one ledger row per product with reason, staff member and
reference). Every refused line is named in one StockChangeRefused.

Counting (stocktake) and held units: staff count every unit on the booth, including units held for
buyers whose checkout is in progress (still on the table until handed over). The count is taken
against the stock the page showed when it was opened: stock moves by (counted − shown), so sales
recorded while staff were counting are kept, never re-added or lost twice. A product's stock may
never end below the units held for buyers: such a line is refused (available would be negative, and
a buyer who holds units could not get them); wait until those checkouts end and count again.
"""

from dataclasses import dataclass

from .exceptions import Refusal, StockChangeRefused
from .models import Product, StockMovement, Store
from .services import StockChange, stock_apply

R = StockMovement.Reason
STOCKTAKE_REASONS = (R.COUNT, R.DAMAGED, R.LOST, R.GIVEN_AWAY)
# These explain units that are gone: they can only lower stock.
LOSS_REASONS = (R.DAMAGED, R.LOST, R.GIVEN_AWAY)
MAX_UNITS = 100_000
MAX_REFERENCE = 100


@dataclass(frozen=True)
class CountLine:
    product_id: int
    shown: int  # the stock the count page showed
    counted: int
    reason: str = R.COUNT


@dataclass(frozen=True)
class MoveLine:
    product_id: int
    quantity: int


@dataclass(frozen=True)
class StocktakeOutcome:
    movements: list[StockMovement]
    # Products whose stock moved (sales, other staff) after the page was loaded: the count was
    # applied on top of those moves; staff may want to look at them again.
    moved_meanwhile: list[str]


def stocktake_record(*, store: Store, lines: list[CountLine], key: str, actor=None) -> StocktakeOutcome:
    """Record a count of the booth: each counted line sets the stock to what was counted, the
    difference taken from the stock read under the row lock (never from the page's `shown`, which a
    form can forge), with the reason staff picked for it. Sending the same page twice (same key) is
    a no-op. `shown` only names the products whose stock moved after the page was loaded.

    Raises StockChangeRefused naming every bad line (not this store's product, not a whole number,
    a loss reason for a count not below the stock, a count below the units held for buyers);
    nothing changes then. Locks and triggers: those of stock_apply.
    """
    products = _store_products(store, [x.product_id for x in lines])
    # The same page sent again is answered from the ledger (stock_apply), not judged against the new stock.
    replay = StockMovement.objects.filter(source=f"stocktake:{key}").exists()
    refusals = [r for x in lines if (r := _count_line_problem(x, products, replay))]
    ids = [x.product_id for x in lines]
    refusals += [Refusal(pid, products[pid].display_name if pid in products else "", "counted twice in one count")
                 for pid in sorted({pid for pid in ids if ids.count(pid) > 1}, key=str)]
    if not lines:
        refusals.append(Refusal(None, "", "enter a count for at least one product"))
    if refusals:
        raise StockChangeRefused(refusals)
    changes = [StockChange(x.product_id, reason=x.reason, level=x.counted, note=f"counted {x.counted}")
               for x in lines]
    movements = stock_apply(changes=changes, source=f"stocktake:{key}", actor=actor)
    applied = {m.product_id: m.delta for m in movements}
    moved = [products[x.product_id].display_name for x in lines if x.counted - applied.get(x.product_id, 0) != x.shown]
    return StocktakeOutcome(movements=movements, moved_meanwhile=moved)


def _count_line_problem(line: CountLine, products: dict[int, Product], replay: bool) -> Refusal | None:
    product = products.get(line.product_id)
    name = product.display_name if product else ""
    if product is None:
        return Refusal(line.product_id, "", f"product {line.product_id} is not stocked in this booth")
    if not _whole(line.counted, MAX_UNITS) or not _whole(line.shown, None):
        return Refusal(product.pk, name, f"count a whole number from 0 to {MAX_UNITS}")
    if line.reason not in STOCKTAKE_REASONS:
        return Refusal(product.pk, name, f"pick a reason among {', '.join(str(R(r).label) for r in STOCKTAKE_REASONS)}")
    if line.reason in LOSS_REASONS and line.counted >= product.inventory and not replay:
        return Refusal(product.pk, name, f"“{R(line.reason).label}” explains missing units, but {line.counted} "
                                         f"counted is not below the {product.inventory} in stock: use “Count correction”")
    return None


def stock_transfer(*, from_store: Store, to_store: Store, lines: list[MoveLine], key: str, actor=None
                   ) -> list[StockMovement]:
    """Move units of products from one booth to the same Stripe products (and sizes) in another, both sides in
    one transaction or neither. Units held for buyers never move. The same form sent twice (same
    key) moves once. Ledger: a transfer_out and a transfer_in row per product, sharing the source.

    Raises StockChangeRefused naming every bad line (not in the first booth, no such product in the
    second, not a whole number > 0, more than is available). Locks and triggers: those of stock_apply.
    """
    if from_store.pk == to_store.pk:
        raise StockChangeRefused([Refusal(None, "", "pick two different booths")])
    sources = _store_products(from_store, [x.product_id for x in lines])
    # The same variant over there: the same Stripe product in the same size and colour.
    targets = {(p.stripe_product_id, p.size, p.colour): p for p in Product.objects.filter(
        store=to_store, stripe_product_id__in=[p.stripe_product_id for p in sources.values()])}
    refusals, changes = [], []
    for line in _merged(lines):
        product = sources.get(line.product_id)
        target = targets.get((product.stripe_product_id, product.size, product.colour)) if product else None
        if product is None:
            refusals.append(Refusal(line.product_id, "", f"product {line.product_id} is not stocked in {from_store.name}"))
        elif target is None:
            refusals.append(Refusal(product.pk, product.display_name, f"{to_store.name} does not stock it: add it there first"))
        elif not _whole(line.quantity, MAX_UNITS) or line.quantity == 0:
            refusals.append(Refusal(product.pk, product.display_name, f"move a whole number from 1 to {MAX_UNITS}"))
        else:
            changes += [StockChange(product.pk, reason=R.TRANSFER_OUT, delta=-line.quantity, note=f"to {to_store.name}"),
                        StockChange(target.pk, reason=R.TRANSFER_IN, delta=line.quantity, note=f"from {from_store.name}")]
    if refusals or not changes:
        raise StockChangeRefused(refusals or [Refusal(None, "", "enter a quantity to move for at least one product")])
    return stock_apply(changes=changes, source=f"transfer:{key}", actor=actor)


@dataclass(frozen=True)
class DeliveryOutcome:
    movements: list[StockMovement]
    already_received: bool  # the same delivery was received before: nothing changed now


def delivery_receive(*, store: Store, supplier_reference: str, lines: list[MoveLine], actor=None) -> DeliveryOutcome:
    """Add a supplier's delivery to a booth's stock. The supplier reference (the delivery note's
    number) is the ledger source, so the same delivery is received once: entering it again is a
    no-op (already_received), and a product already received under that reference next to new
    ones is refused, naming it.

    Raises StockChangeRefused naming every bad line. Locks and triggers: those of stock_apply.
    """
    reference = " ".join((supplier_reference or "").split())
    products = _store_products(store, [x.product_id for x in lines])
    refusals, changes = [], []
    if not reference or len(reference) > MAX_REFERENCE:  # named with the lines' problems: all at once
        refusals.append(Refusal(None, "", f"enter the supplier's reference (1 to {MAX_REFERENCE} characters)"))
    for line in _merged(lines):
        product = products.get(line.product_id)
        if product is None:
            refusals.append(Refusal(line.product_id, "", f"product {line.product_id} is not stocked in {store.name}"))
        elif not _whole(line.quantity, MAX_UNITS) or line.quantity == 0:
            refusals.append(Refusal(product.pk, product.display_name, f"receive a whole number from 1 to {MAX_UNITS}"))
        else:
            changes.append(StockChange(product.pk, reason=R.DELIVERY, delta=line.quantity,
                                       note=f"supplier reference {reference}"))
    if not changes and not any(r.product_id for r in refusals):
        refusals.append(Refusal(None, "", "enter a quantity for at least one product"))
    if refusals:
        raise StockChangeRefused(refusals)
    source = f"delivery:{reference}"
    if _received_before(source, changes, products):
        return DeliveryOutcome(movements=list(StockMovement.objects.filter(
            source=source, product_id__in=[c.product_id for c in changes]).order_by("product_id")),
            already_received=True)
    return DeliveryOutcome(movements=stock_apply(changes=changes, source=source, actor=actor), already_received=False)


def _received_before(source: str, changes: list[StockChange], products: dict[int, Product]) -> bool:
    """All of it (a replay), none of it, or refused: some products were received under this reference."""
    ids = [c.product_id for c in changes]
    done = set(StockMovement.objects.filter(source=source, product_id__in=ids).values_list("product_id", flat=True))
    if done and done != set(ids):
        raise StockChangeRefused([Refusal(pid, products[pid].display_name, "already received under this reference")
                                  for pid in sorted(done)])
    return bool(done)


def _store_products(store: Store, product_ids: list) -> dict[int, Product]:
    ids = [pid for pid in product_ids if isinstance(pid, int) and not isinstance(pid, bool)]
    return {p.pk: p for p in Product.objects.filter(store=store, pk__in=ids)}


def _merged(lines: list[MoveLine]) -> list[MoveLine]:
    totals: dict[int, int] = {}
    for line in lines:
        if not _whole(line.quantity, None):
            return list(lines)  # left as they are: the bad quantity is named per line
        totals[line.product_id] = totals.get(line.product_id, 0) + line.quantity
    return [MoveLine(pid, qty) for pid, qty in totals.items()]


def _whole(value, maximum: int | None) -> bool:
    return (isinstance(value, int) and not isinstance(value, bool) and value >= 0
            and (maximum is None or value <= maximum))
