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
