"""Tell the buyer's checkout page, live, what became of their checkout."""

import logging

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

from ..models import Checkout

log = logging.getLogger(__name__)


def checkout_group(checkout_id) -> str:
    return f"checkout.{checkout_id}"


def checkout_broadcast_on_commit(checkout_id) -> None:
    transaction.on_commit(lambda: checkout_broadcast(checkout_id))


def checkout_snapshot(checkout_id) -> dict | None:
    checkout = Checkout.objects.filter(pk=checkout_id).first()
    if checkout is None:
        return None
    return {"type": "checkout.updated", "checkout": str(checkout.pk), "status": checkout.status,
            "status_text": checkout.get_status_display(), "resolution": checkout.resolution,
            "expires_at": checkout.expires_at.isoformat()}


def checkout_broadcast(checkout_id) -> None:
    snapshot = checkout_snapshot(checkout_id)
    if snapshot is None:
        return
    try:
        async_to_sync(get_channel_layer().group_send)(checkout_group(checkout_id), snapshot)
    except Exception:  # best-effort: the page also reads the status when it (re)connects
        log.exception("checkout broadcast failed for %s", checkout_id)
