"""A buyer's checkout page hears, live, what became of their checkout."""

import uuid

from channels.db import database_sync_to_async

from swagstore.websockets import ReadOnlyFeedConsumer

from .broadcast import checkout_group, checkout_snapshot

CLOSE_NO_SUCH_CHECKOUT = 4404


class CheckoutConsumer(ReadOnlyFeedConsumer):
    """Joins checkout.<id>; sends the current status on (re)connect, then relays checkout.updated."""

    async def connect(self):
        snapshot = await self._snapshot(self.scope["url_route"]["kwargs"]["checkout_id"])
        if snapshot is None:
            await self.close(code=CLOSE_NO_SUCH_CHECKOUT)
            return
        self.group = checkout_group(snapshot["checkout"])
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()
        # Current status on every (re)connect, so a page never keeps a status it missed while away.
        await self.send_json(snapshot)

    async def disconnect(self, code):
        if hasattr(self, "group"):
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def checkout_updated(self, event):
        await self.send_json(event)

    @database_sync_to_async
    def _snapshot(self, checkout_id: str) -> dict | None:
        try:
            return checkout_snapshot(uuid.UUID(checkout_id))
        except ValueError:
            return None
