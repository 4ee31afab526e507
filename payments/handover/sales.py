"""One shape for a sale, whichever way it was paid: a Payment Link's Order or a Checkout (held or ours)."""

from dataclasses import dataclass
from datetime import datetime

from inventory.variants import variant_sort_key

from ..models import Checkout, Order

# Which records are sales the buyer may collect, and which are sales whose money went back.
ORDER_COLLECTABLE = (Order.Status.FULFILLED,)
CHECKOUT_COLLECTABLE = (Checkout.Status.AUTHORISED, Checkout.Status.PAID)
ORDER_GIVEN_BACK = (Order.Status.OVERSOLD, Order.Status.REFUNDED, Order.Status.CANCELLED)
CHECKOUT_GIVEN_BACK = (Checkout.Status.CANCELLED, Checkout.Status.REFUNDED)
# Listed as sales: everything paid, including what was given back; not holds nobody paid for.
ORDER_LISTED = (*ORDER_COLLECTABLE, *ORDER_GIVEN_BACK, Order.Status.UNMATCHED)
CHECKOUT_LISTED = (*CHECKOUT_COLLECTABLE, *CHECKOUT_GIVEN_BACK)


@dataclass(frozen=True)
class SaleLine:
    name: str
    size: str
    colour: str
    quantity: int


@dataclass(frozen=True)
class Sale:
    kind: str  # "order" (Payment Link) or "checkout" (held checkout or our checkout page)
    pk: str
    receipt_code: str
    receipt_code_display: str
    store_id: str
    store_name: str
    time_zone: str
    lines: tuple[SaleLine, ...]
    amount: int | None
    currency: str
    state: str  # "paid", "given-back", "needs-staff" or "unpaid"
    status_text: str
    collected_at: datetime | None
    collected_by: str
    created_at: datetime

    @property
    def collectable(self) -> bool:
        return self.state == "paid" and self.collected_at is None

    @property
    def path(self) -> str:
        return "Payment Link" if self.kind == "order" else "Checkout"


def _state(record) -> str:
    if isinstance(record, Order):
        collectable, given_back = ORDER_COLLECTABLE, ORDER_GIVEN_BACK
        if record.status == Order.Status.UNMATCHED:
            return "needs-staff"
    else:
        collectable, given_back = CHECKOUT_COLLECTABLE, CHECKOUT_GIVEN_BACK
    if record.status in collectable:
        return "paid"
    return "given-back" if record.status in given_back else "unpaid"


def sale_of(record: Order | Checkout) -> Sale:
    """The sale an Order or a Checkout records; its store, lines' products and collector prefetched."""
    is_order = isinstance(record, Order)
    store = record.store
    state = _state(record)
    # A sale of several sizes lists them as people read them (S, M, L, XL).
    lines = tuple(SaleLine(name=line.product.name, size=line.product.size, colour=line.product.colour,
                           quantity=line.quantity)
                  for line in sorted(record.lines.all(), key=lambda x: (x.product.name, variant_sort_key(x.product))))
    return Sale(
        kind="order" if is_order else "checkout", pk=str(record.pk), receipt_code=record.receipt_code,
        receipt_code_display=record.receipt_code_display,
        store_id=store.pk if store else "", store_name=store.name if store else "",
        time_zone=store.time_zone if store else "UTC",
        lines=lines, amount=record.amount_total if is_order else record.amount, currency=record.currency,
        state=state, status_text="Paid" if state == "paid" else record.get_status_display(),
        collected_at=record.collected_at,
        collected_by=record.collected_by.get_username() if record.collected_by else "",
        created_at=record.created_at,
    )
