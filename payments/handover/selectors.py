"""Reading sales: one list of every path, and one sale by its receipt code."""

import re
from collections.abc import Collection
from datetime import datetime

from common.lookups import NotFound

from ..models import Checkout, Order
from ..models.receipts import RECEIPT_CODE_ALPHABET, RECEIPT_CODE_LENGTH
from .sales import CHECKOUT_LISTED, ORDER_LISTED, Sale, sale_of

_RELATED = ("store", "collected_by")
_LINES = ("lines__product",)
# What people type or a camera reads: any case, with dashes or spaces, or the whole receipt URL.
_NOT_CODE = re.compile(r"[^0-9A-Z]")
_CODE_IN_URL = re.compile(r"[?&]code=([0-9A-Za-z-]*)")


class ReceiptNotFound(NotFound):
    pass


def receipt_code_normalise(text: str) -> str:
    """"k7mq-4qxp", " K7MQ 4QXP " or the receipt's QR URL (…?code=K7MQ4QXP) → "K7MQ4QXP"; "" if it
    cannot be a code."""
    in_url = _CODE_IN_URL.search(text)
    code = _NOT_CODE.sub("", (in_url.group(1) if in_url else text).upper())
    if len(code) != RECEIPT_CODE_LENGTH or set(code) - set(RECEIPT_CODE_ALPHABET):
        return ""
    return code


def sale_get(*, code: str) -> Sale:
    """The sale with this receipt code (typed or scanned); ReceiptNotFound if there is none."""
    normalised = receipt_code_normalise(code)
    if normalised:
        for model in (Order, Checkout):
            record = (model.objects.select_related(*_RELATED).prefetch_related(*_LINES)
                      .filter(receipt_code=normalised).first())
            if record is not None:
                return sale_of(record)
    raise ReceiptNotFound(f"No sale has the receipt code {code.strip()[:40]!r}. Check the letters and try again.")


def sale_list(*, store_id: str = "", store_ids: Collection[str] | None = None, since: datetime | None = None,
              until: datetime | None = None, limit: int = 200) -> list[Sale]:
    """Every sale, newest first: Payment Link orders and checkouts (held or ours) together; only
    `store_ids`' (a staff member's booths) when given."""
    orders = Order.objects.filter(status__in=ORDER_LISTED)
    checkouts = Checkout.objects.filter(status__in=CHECKOUT_LISTED)
    if store_ids is not None:
        orders, checkouts = orders.filter(store_id__in=store_ids), checkouts.filter(store_id__in=store_ids)
    if store_id:
        orders, checkouts = orders.filter(store_id=store_id), checkouts.filter(store_id=store_id)
    if since is not None:
        orders, checkouts = orders.filter(created_at__gte=since), checkouts.filter(created_at__gte=since)
    if until is not None:
        orders, checkouts = orders.filter(created_at__lt=until), checkouts.filter(created_at__lt=until)
    records = [*orders.select_related(*_RELATED).prefetch_related(*_LINES).order_by("-created_at")[:limit],
               *checkouts.select_related(*_RELATED).prefetch_related(*_LINES).order_by("-created_at")[:limit]]
    records.sort(key=lambda record: record.created_at, reverse=True)
    return [sale_of(record) for record in records[:limit]]
