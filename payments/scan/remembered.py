"""What a QR scan shows, remembered for a moment in each web process.

A keynote QR code sends hundreds of phones to /q/<code>/ within seconds. Each scan needs the product
(its price, mode, link and units available) and, once it is sold out, the other booths that still
have it: reading those costs a query each and, far more, the CPU to build the availability query
(a correlated subquery and three annotations, compiled afresh each time). So the first scan in a
process reads them and remembers them for SCAN_CACHE_SECONDS; the scans after it are answered from
memory: a Payment Link redirect, the held checkout's quantity page, and a buyer turned away because
what is left is too few, all with no query and no write.

Why a moment's staleness is safe:
- nothing that takes stock or money trusts it: a held checkout locks the product and counts the
  holds afresh before it holds anything (inventory.services), and what stops a Payment Link's money
  is the link itself, switched off at Stripe at zero (a payment that still lands for stock already
  gone is given back, as ever);
- any stock change in this process forgets everything remembered (payments/receivers.py), so the
  process that made a change shows it at once; the others show it within SCAN_CACHE_SECONDS, as the
  live feed already does on pages that are open. The exception is a hold that leaves units: what
  is remembered may then count a unit or two too many for up to SCAN_CACHE_SECONDS, which only
  sends a buyer on to the hold, which locks and counts afresh.
What it can cost: for at most SCAN_CACHE_SECONDS after units come back in another process (a hold
lapsed, a restock), a scan in this one may still say "sold out".
"""

import time
from dataclasses import dataclass, field

from django.conf import settings

from inventory import selectors as inventory_selectors
from inventory.models import Product

_MAX_CODES = 10_000  # a bound on memory, far above any booth's products


@dataclass
class ScanView:
    """One code's product as read (with `available`), and, once asked, its other booths."""

    product: Product
    fresh_until: float
    alternatives: list[Product] | None = field(default=None)


_remembered: dict[str, ScanView] = {}


def scan_product(*, code: str) -> Product | None:
    """The product a printed QR code names (None: unknown or retired code), from memory when fresh."""
    view = _view(code)
    return view.product if view else None


def scan_alternatives(*, product: Product) -> list[Product]:
    """The same product in the same size and colour at other booths that still have some."""
    view = _remembered.get(product.scan_code)
    if view is not None and view.product is product and view.alternatives is not None:
        return view.alternatives
    found = inventory_selectors.product_alternatives(
        stripe_product_id=product.stripe_product_id, exclude_store_id=product.store_id, size=product.size,
        colour=product.colour)
    if view is not None and view.product is product:
        view.alternatives = found
    return found


def remembered_link(*, code: str) -> str | None:
    """The Payment Link a scan of `code` leads to, when this process remembers the code (fresh) as a
    product sold through a link that is taking payments; None otherwise (the view decides)."""
    view = _remembered.get(code)
    if view is None or view.fresh_until < time.monotonic():
        return None
    product = view.product
    return product.payment_link_url if not product.sells_held and product.payable else None


def scans_forget() -> None:
    """Forget everything remembered (a stock or link change in this process; tests)."""
    _remembered.clear()


def _view(code: str) -> ScanView | None:
    now = time.monotonic()
    view = _remembered.get(code)
    if view is not None and view.fresh_until >= now:
        return view
    product = inventory_selectors.product_for_scan_code(code=code)
    if product is None:
        _remembered.pop(code, None)
        return None
    view = ScanView(product=product, fresh_until=now + settings.SCAN_CACHE_SECONDS)
    if settings.SCAN_CACHE_SECONDS > 0:
        if len(_remembered) >= _MAX_CODES:
            _remembered.clear()
        _remembered[code] = view
    return view
