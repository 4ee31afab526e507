"""When reserved stock comes back: "Reserved — back in N min" on pages, the booth board and broadcasts.

While everything left is held for buyers paying now (available 0, held > 0), pages tell the others
when the earliest of those holds lapses: N minutes, rounded up. A buyer's hold may lapse before its
reservation does (a held checkout keeps its units while Stripe's page could still be paid), so the
owner of each hold says when it lapses (signals.hold_lapses_wanted); inventory knows only the
reservations. Read only while something is reserved: a page or broadcast of stock on sale costs
no query more.
"""

import math
from datetime import datetime

from django.utils import timezone

from .models import Reservation
from .signals import hold_lapses_wanted

FALLBACK_TEXT = "Reserved — may come back"
SHORT_FALLBACK_TEXT = "reserved"


def earliest_lapse(reservations) -> datetime | None:
    """The earliest moment one of these live reservations' buyers loses the hold (one query, plus the owners')."""
    rows = list(reservations.values_list("hold_ref", "expires_at"))
    if not rows:
        return None
    lapses = {}
    for _, answer in hold_lapses_wanted.send(sender=earliest_lapse, hold_refs=sorted({ref for ref, _ in rows})):
        for ref, at in (answer or {}).items():
            lapses[ref] = min(at, lapses.get(ref, at))
    return min(min(lapses.get(ref, until), until) for ref, until in rows)


def variant_lapse(product_id: int) -> datetime | None:
    return earliest_lapse(Reservation.objects.live().filter(product_id=product_id))


def family_lapse(store_id: str, stripe_product_id: str) -> datetime | None:
    return earliest_lapse(Reservation.objects.live().filter(product__store_id=store_id,
                                                            product__stripe_product_id=stripe_product_id))


def lapse_of(shown) -> datetime | None:
    """For a Product (one variant) or a ProductFamily on a page, when it is all reserved; else None."""
    if not shown.all_reserved:
        return None
    if hasattr(shown, "variants"):
        return family_lapse(shown.store_id, shown.stripe_product_id)
    return variant_lapse(shown.pk)


def seconds_until(moment: datetime | None, now: datetime | None = None) -> int | None:
    if moment is None:
        return None
    return max(0, math.ceil((moment - (now or timezone.now())).total_seconds()))


def back_in_text(seconds: int | None, *, short: bool = False) -> str:
    """ "Reserved — back in 4 min" (rounded up, at least 1: a lapsed hold comes back within moments);
    `short`, for a size picker's button already marked reserved: "back in 4 min"."""
    if seconds is None:
        return SHORT_FALLBACK_TEXT if short else FALLBACK_TEXT
    text = f"back in {max(1, math.ceil(seconds / 60))} min"
    return text if short else f"Reserved — {text}"


def snapshot_with_lapse(snapshot: dict) -> dict:
    """A stock message (selectors._snapshot) with `back_at` (epoch seconds, on its own clock `as_of`)
    for the variant and for its family, when they are all reserved; the page counts down from it."""
    if snapshot.get("reserved"):
        snapshot["back_at"] = _epoch(variant_lapse(snapshot["variant"]))
    family = snapshot.get("family")
    if family and family.get("reserved"):
        family["back_at"] = _epoch(family_lapse(snapshot["store"], snapshot["product"]))
    return snapshot


def _epoch(moment: datetime | None) -> float | None:
    return moment.timestamp() if moment else None
