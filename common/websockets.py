"""What every live feed shares: read-only sockets, a cap per client, and a quiet refusal for paths
that name no feed.

Pages never write through a feed, so whatever a client sends is ignored (a junk frame neither
closes the socket with 1011 nor logs a traceback). Each client address (common/clients.py) may
hold WEBSOCKETS_MAX_PER_CLIENT sockets open in one web process; beyond that, and for unknown paths,
the handshake is refused (HTTP 403) instead of failing with a 500.
"""

from collections import Counter

from channels.generic.websocket import AsyncJsonWebsocketConsumer, AsyncWebsocketConsumer
from django.conf import settings

from . import metrics
from .clients import scope_client_address

# Open sockets per client in this process; consumers all run on the process's one event loop.
_open_per_client: Counter = Counter()


class ReadOnlyFeedConsumer(AsyncJsonWebsocketConsumer):
    async def websocket_connect(self, message):
        self.client_key = scope_client_address(self.scope)
        if _open_per_client[self.client_key] >= settings.WEBSOCKETS_MAX_PER_CLIENT:
            await self.close()  # before accept: the handshake is refused
            return
        _open_per_client[self.client_key] += 1
        self.holds_slot = True
        metrics.websocket_opened(feed=type(self).__name__)
        await super().websocket_connect(message)

    async def __call__(self, scope, receive, send):
        # Also when the server drops the instance without a disconnect message (cancelled).
        try:
            await super().__call__(scope, receive, send)
        finally:
            self._release_slot()

    async def websocket_disconnect(self, message):
        self._release_slot()
        await super().websocket_disconnect(message)

    def _release_slot(self) -> None:
        if getattr(self, "holds_slot", False):
            self.holds_slot = False
            metrics.WEBSOCKETS_OPEN.labels(feed=type(self).__name__).dec()
            _open_per_client[self.client_key] -= 1
            if _open_per_client[self.client_key] <= 0:
                del _open_per_client[self.client_key]

    async def receive(self, text_data=None, bytes_data=None, **kwargs):
        pass  # read-only feed: not even parsed


class NoSuchFeedConsumer(AsyncWebsocketConsumer):
    """The last route: any other path is refused at the handshake (403), not answered with a 500."""

    async def connect(self):
        await self.close()
