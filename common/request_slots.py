"""At most WEB_REQUEST_SLOTS requests run in Django at once per web process; the rest wait their turn
at the ASGI door, in arrival order.

Under ASGI, Django runs each request's synchronous code (middleware, views, the ORM) in a thread of
its own. In a keynote rush hundreds of requests arrive within a second: hundreds of threads then
take turns on one interpreter lock, and the switching itself becomes most of the work. Measured with
`bench/qr_burst.py` (200 held-checkout buyers at once, two web processes): the web processes spent
72 ms of CPU per buyer against 13 ms when the same buyers came one at a time, and answered later.
A request waiting here costs nothing but a coroutine; the slots keep the cores busy with requests
that can finish, and the database pool (DATABASE_POOL_MAX_SIZE) never has more askers than
connections.

A slot is waited for at most WEB_REQUEST_SLOT_WAIT_SECONDS; then the request runs anyway. The slots
shape a rush, they must not become a queue behind requests that are stuck: when Redis is away, each
webhook's bell waits on it, and with hard slots every page of the site waited behind those
(tests/faults/test_redis_outage.py caught it). Past the wait, the process is no worse off than
without slots.

WebSockets are not counted: they live for minutes, and their consumers are async (no thread each).
"""

import asyncio

from django.conf import settings


class RequestSlots:
    def __init__(self, app):
        self.app = app
        self._slots: asyncio.Semaphore | None = None

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or settings.WEB_REQUEST_SLOTS <= 0:
            return await self.app(scope, receive, send)
        if self._slots is None:  # made in the running loop (each worker process has its own)
            self._slots = asyncio.Semaphore(settings.WEB_REQUEST_SLOTS)
        try:
            await asyncio.wait_for(self._slots.acquire(), settings.WEB_REQUEST_SLOT_WAIT_SECONDS)
        except TimeoutError:
            return await self.app(scope, receive, send)  # waited long enough: run without a slot
        try:
            await self.app(scope, receive, send)
        finally:
            self._slots.release()
