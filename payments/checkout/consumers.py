"""A buyer's checkout page hears, live, what became of their checkout."""

import uuid

from channels.db import database_sync_to_async

from common.websockets import ReadOnlyFeedConsumer

from .broadcast import checkout_group, checkout_snapshot

CLOSE_NO_SUCH_CHECKOUT = 4404


class CheckoutConsumer(ReadOnlyFeedConsumer):
    """Joins checkout.<id>; sends the current status on (re)connect, then relays checkout.updated.

    Behaves like inventory's StockConsumer: join, then read, then accept (and close with 4404 when
    there is no such checkout)."""

    DATABASE_FREE_MESSAGES = ReadOnlyFeedConsumer.DATABASE_FREE_MESSAGES | {"checkout.updated"}

    async def connect(self):
        checkout_id = _checkout_id(self.scope["url_route"]["kwargs"]["checkout_id"])
        # Join before reading: a change committed in between then reaches us as a message.
        if checkout_id is not None:
            self.group = checkout_group(checkout_id)
            await self.channel_layer.group_add(self.group, self.channel_name)
        snapshot = await self._snapshot(checkout_id) if checkout_id is not None else None
        # Accept, then close: a refused handshake looks like a network failure to a browser, which
        # would keep retrying; 4404 tells the page to stop.
        await self.accept()
        if snapshot is None:
            await self.close(code=CLOSE_NO_SUCH_CHECKOUT)
            return
        # Current status on every (re)connect, so a page never keeps a status it missed while away.
        await self.send_json(snapshot)

    async def disconnect(self, code):
        if hasattr(self, "group"):
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def checkout_updated(self, event):
        await self.send_json(event)

    @database_sync_to_async
    def _snapshot(self, checkout_id: uuid.UUID) -> dict | None:
        return checkout_snapshot(checkout_id)


def _checkout_id(raw: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(raw)
    except ValueError:
        return None
