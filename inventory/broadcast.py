"""Live stock: after commit, tell the product's group and its store's group."""

import logging

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

from .reserved import snapshot_with_lapse
from .selectors import stock_snapshot
from .signals import HoldFacts, stock_changed

log = logging.getLogger(__name__)


def product_group(store_id: str, stripe_product_id: str) -> str:
    return f"stock.{store_id}.{stripe_product_id}"


def store_group(store_id: str) -> str:
    return f"stock.{store_id}"


def stock_broadcast_on_commit(product_id: int, *, hold: HoldFacts | None = None) -> None:
    transaction.on_commit(lambda: stock_after_commit(product_id, hold=hold))


def stock_after_commit(product_id: int, *, hold: HoldFacts | None = None) -> None:
    stock_broadcast(product_id)
    stock_changed.send(sender=stock_after_commit, product_id=product_id, hold=hold)


def stock_broadcast(product_id: int) -> None:
    snapshot = snapshot_with_lapse(stock_snapshot(product_id=product_id))
    message = {"type": "stock.updated", **snapshot}
    layer = get_channel_layer()
    try:
        async_to_sync(layer.group_send)(product_group(snapshot["store"], snapshot["product"]), message)
        async_to_sync(layer.group_send)(store_group(snapshot["store"]), message)
    except Exception:  # a broadcast is best-effort: the stock change itself has committed
        log.exception("stock broadcast failed for product %s", product_id)
