"""Listen to the live stock feed from sync tests: a WebsocketCommunicator on its own event loop."""

import asyncio
import threading

from channels.testing import WebsocketCommunicator


class FeedListener:
    def __init__(self, path: str):
        from swagstore.asgi import application

        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()
        self._communicator = self._run(self._make(application, path))

    async def _make(self, application, path):
        return WebsocketCommunicator(application, path, headers=[(b"origin", b"http://localhost")])

    def _run(self, coroutine, timeout: float = 30):
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(timeout)

    def connect(self) -> tuple[bool, int | None]:
        return self._run(self._communicator.connect())

    def receive(self, timeout: float = 5) -> dict:
        return self._run(self._communicator.receive_json_from(timeout=timeout), timeout + 5)

    def receive_until(self, predicate, timeout: float = 20) -> dict:
        """The first message matching predicate; earlier ones (other products, older counts) are skipped."""
        import time

        deadline = time.monotonic() + timeout
        while True:
            message = self.receive(timeout=max(0.1, deadline - time.monotonic()))
            if predicate(message):
                return message

    def close(self) -> None:
        try:
            self._run(self._communicator.disconnect(), 10)
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(5)


class LayerListener:
    """A channel of its own in some groups of the real channel layer, all on one event loop.

    The Redis pub/sub layer keeps its subscriptions per event loop, so joining a group and
    receiving must happen on the same loop (async_to_sync would start a fresh one per call). It
    also drops the subscription when a receive is cancelled, so one receive runs for the
    listener's whole life, feeding a queue that callers wait on with a timeout."""

    def __init__(self):
        from channels.layers import get_channel_layer

        self._layer = get_channel_layer()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()
        self._groups: list[str] = []
        self.channel = self._run(self._layer.new_channel())
        self._inbox: asyncio.Queue = self._run(self._make_inbox())
        self._pump = asyncio.run_coroutine_threadsafe(self._forward(), self._loop)

    async def _make_inbox(self) -> asyncio.Queue:
        return asyncio.Queue()

    async def _forward(self):
        while True:
            await self._inbox.put(await self._layer.receive(self.channel))

    def _run(self, coroutine, timeout: float = 10):
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(timeout)

    def join(self, group: str) -> None:
        self._run(self._layer.group_add(group, self.channel))
        self._groups.append(group)

    def receive(self, timeout: float = 3) -> dict | None:
        """The next message, or None when nothing arrives in time."""
        async def wait():
            try:
                return await asyncio.wait_for(self._inbox.get(), timeout)
            except asyncio.TimeoutError:
                return None

        return self._run(wait(), timeout + 5)

    def close(self) -> None:
        try:
            self._pump.cancel()
            for group in self._groups:
                self._run(self._layer.group_discard(group, self.channel))
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(5)
