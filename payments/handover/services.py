"""Handing a sale over at the booth: once, race-free, recorded with who and when."""

from django.utils import timezone

from common.times import local_datetime

from ..models import Checkout, Order
from .sales import CHECKOUT_COLLECTABLE, ORDER_COLLECTABLE, Sale
from .selectors import receipt_code_normalise, sale_get


class HandOverRefused(Exception):
    """The items may not be handed over; `sale` says why (already collected, given back, unpaid)."""

    def __init__(self, message: str, sale: Sale):
        super().__init__(message)
        self.sale = sale


def sale_hand_over(*, code: str, user) -> Sale:
    """Mark the sale with this receipt code collected by `user`, now. One conditional UPDATE per
    kind of record (not yet collected, still a sale), so two volunteers scanning the same code at
    once hand it over once: the second is refused with when and by whom. Raises ReceiptNotFound for
    an unknown code and HandOverRefused (changing nothing) for a sale that may not be collected."""
    normalised = receipt_code_normalise(code)
    for model, collectable in ((Order, ORDER_COLLECTABLE), (Checkout, CHECKOUT_COLLECTABLE)):
        if normalised and model.objects.filter(receipt_code=normalised, status__in=collectable,
                                               collected_at__isnull=True).update(
                collected_at=timezone.now(), collected_by=user, updated_at=timezone.now()):
            return sale_get(code=normalised)
    sale = sale_get(code=code)
    raise HandOverRefused(hand_over_refusal_text(sale), sale)


def hand_over_refusal_text(sale: Sale) -> str:
    if sale.collected_at is not None:
        who = f" by {sale.collected_by}" if sale.collected_by else ""
        return f"Already handed over{who}, {local_datetime(sale.collected_at, sale.time_zone)}. Nothing changed."
    if sale.state == "given-back":
        return f"Do not hand over: {sale.status_text.lower()}. Nothing changed."
    if sale.state == "needs-staff":
        return "Do not hand over yet: this payment matched no product of ours and needs a manager."
    return f"Do not hand over: not paid ({sale.status_text.lower()})."
