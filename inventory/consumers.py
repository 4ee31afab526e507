"""Live stock over WebSocket: a page joins its product's or its store's group."""

from channels.db import database_sync_to_async

from common.websockets import ReadOnlyFeedConsumer

from . import selectors
from .broadcast import product_group, store_group
from .reserved import snapshot_with_lapse

CLOSE_NO_SUCH_PAGE = 4404


class StockConsumer(ReadOnlyFeedConsumer):
    DATABASE_FREE_MESSAGES = ReadOnlyFeedConsumer.DATABASE_FREE_MESSAGES | {"stock.updated"}

    async def connect(self):
        kwargs = self.scope["url_route"]["kwargs"]
        store_id, product_id = kwargs["store_id"], kwargs.get("product_id")
        # Join before reading: a change committed in between then reaches us as a message.
        self.group = product_group(store_id, product_id) if product_id else store_group(store_id)
        await self.channel_layer.group_add(self.group, self.channel_name)
        snapshots = await self._snapshots(store_id, product_id)
        # Accept, then close: a refused handshake looks like a network failure to a browser, which
        # would keep retrying; 4404 tells the page to stop.
        await self.accept()
        if snapshots is None:
            await self.close(code=CLOSE_NO_SUCH_PAGE)
            return
        # Current stock on (re)connect, so a page never keeps a number it missed while away.
        for snapshot in snapshots:
            await self.send_json({"type": "stock.updated", **snapshot})

    async def disconnect(self, code):
        if hasattr(self, "group"):
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def stock_updated(self, event):
        await self.send_json(event)

    @database_sync_to_async
    def _snapshots(self, store_id: str, product_id: str | None) -> list[dict] | None:
        snapshots = selectors.stock_snapshots_for_page(store_id=store_id, stripe_product_id=product_id)
        return None if snapshots is None else [snapshot_with_lapse(s) for s in snapshots]
