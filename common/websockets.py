"""What every live feed shares: read-only sockets, a cap per address, and a quiet refusal for paths
that name no feed.

Pages never write through a feed, so whatever a client sends is ignored (a junk frame neither
closes the socket with 1011 nor logs a traceback). One address (common/clients.py: an IPv6 /64
counts as one) may hold WEBSOCKETS_MAX_PER_ADDRESS sockets open across all web processes; a venue's
Wi-Fi puts thousands of phones behind one address, so the default is sized for a venue, and it only
stops one machine from holding the server's sockets. Beyond it, and for unknown paths, the
handshake is refused (HTTP 403) instead of failing with a 500.
"""

from channels.consumer import get_handler_name
from channels.generic.websocket import AsyncJsonWebsocketConsumer, AsyncWebsocketConsumer

from . import metrics
from .clients import scope_client_address
from .socket_slots import slot_give_back, slot_take


class ReadOnlyFeedConsumer(AsyncJsonWebsocketConsumer):
    # Messages whose handlers touch no database. Channels runs close_old_connections in a worker
    # thread before every message it dispatches; for a broadcast that is a thread hop per open page,
    # and with 5,000 pages open it was two thirds of a fan-out's CPU (py-spy, bench/fanout.py). Reads
    # a feed does make (the snapshot on connect) go through database_sync_to_async, which tidies its
    # own thread's connections before and after.
    DATABASE_FREE_MESSAGES = frozenset({"websocket.receive", "websocket.disconnect"})

    async def dispatch(self, message):
        if message["type"] in self.DATABASE_FREE_MESSAGES:
            await getattr(self, get_handler_name(message))(message)
            return
        await super().dispatch(message)

    async def websocket_connect(self, message):
        self.client_key = scope_client_address(self.scope)
        if not await slot_take(self.client_key):
            await self.close()  # before accept: the handshake is refused
            return
        self.holds_slot = True
        metrics.websocket_opened(feed=type(self).__name__)
        await super().websocket_connect(message)

    async def __call__(self, scope, receive, send):
        # Also when the server drops the instance without a disconnect message (cancelled).
        try:
            await super().__call__(scope, receive, send)
        finally:
            await self._release_slot()

    async def websocket_disconnect(self, message):
        await self._release_slot()
        await super().websocket_disconnect(message)

    async def _release_slot(self) -> None:
        if getattr(self, "holds_slot", False):
            self.holds_slot = False
            metrics.WEBSOCKETS_OPEN.labels(feed=type(self).__name__).dec()
            await slot_give_back(self.client_key)

    async def receive(self, text_data=None, bytes_data=None, **kwargs):
        pass  # read-only feed: not even parsed


class NoSuchFeedConsumer(AsyncWebsocketConsumer):
    """The last route: any other path is refused at the handshake (403), not answered with a 500."""

    async def connect(self):
        await self.close()
