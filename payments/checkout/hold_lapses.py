"""When each checkout's hold lapses, for inventory's "Reserved — back in N min" (inventory/reserved.py)."""

from datetime import datetime

from common.ids import uuid_or_none

from ..models import Checkout


def checkout_hold_lapses(*, hold_refs: list[str]) -> dict[str, datetime]:
    """{hold_ref: the checkout's own deadline} for the open checkouts among these holds (one query).
    A held checkout's deadline comes before its units' (they stay held while Stripe's page could still
    be paid); once it passes, the session is expired and the units come back."""
    ids = {uuid_or_none(ref): ref for ref in hold_refs}
    ids.pop(None, None)
    rows = Checkout.objects.filter(pk__in=list(ids), status__in=(Checkout.Status.RESERVED, Checkout.Status.EXPIRED))
    return {ids[pk]: expires_at for pk, expires_at in rows.values_list("pk", "expires_at")}
