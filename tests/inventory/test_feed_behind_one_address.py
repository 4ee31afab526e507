"""Issue 19: a venue full of phones behind one address watches the live feed, on the Procfile's web
command (gunicorn, two uvicorn worker processes), and the per-address cap counts across processes."""

import asyncio
import shutil
import sys
import uuid
from pathlib import Path

import pytest
import websockets

from tests.browser.conftest import DaphneServer

pytestmark = pytest.mark.django_db(transaction=True)


class GunicornServer(DaphneServer):
    """The Procfile's `web` process: gunicorn with two uvicorn workers (WEB_CONCURRENCY=2)."""

    def __init__(self, log_path: Path, **env):
        super().__init__(log_path)
        gunicorn = Path(sys.executable).with_name("gunicorn")
        self.command = [str(gunicorn) if gunicorn.exists() else shutil.which("gunicorn") or "gunicorn",
                        "swagstore.asgi:application", "-k", "uvicorn_worker.UvicornWorker", "--workers", "2",
                        "--bind", f"127.0.0.1:{self.port}"]
        # Its own count of open sockets in Redis, whatever earlier runs left behind.
        self.env |= {"CHANNEL_PREFIX": f"swagstore-feedtest-{uuid.uuid4().hex[:8]}", **env}


@pytest.fixture
def web(tmp_path):
    servers = []

    def start(**env) -> GunicornServer:
        server = GunicornServer(tmp_path / f"gunicorn-{len(servers)}.log", **env)
        servers.append(server)
        server.start(timeout=60)
        return server

    yield start
    for server in servers:
        server.stop()


def connect_all(server, path: str, viewers: int) -> int:
    """Open `viewers` feeds at once from one address (127.0.0.1), all held open together; how many
    connected and received their snapshot."""

    async def scenario():
        url = server.url.replace("http", "ws") + path

        async def viewer():
            try:
                socket = await websockets.connect(url, origin=server.url, open_timeout=60)
            except (websockets.InvalidStatus, OSError, asyncio.TimeoutError):
                return None
            await asyncio.wait_for(socket.recv(), 30)  # the snapshot: the feed is live
            return socket

        sockets = await asyncio.gather(*(viewer() for _ in range(viewers)))
        opened = [s for s in sockets if s is not None]
        for socket in opened:
            await socket.close()
        return len(opened)

    return asyncio.run(scenario())


def test_one_hundred_fifty_viewers_behind_one_address_all_connect(web, make_product):
    product = make_product(inventory=5, link=False)
    server = web()
    assert connect_all(server, f"/ws/stock/{product.store_id}/{product.stripe_product_id}/", 150) == 150


def test_the_per_address_cap_counts_across_both_web_processes(web, make_product):
    product = make_product(inventory=5, link=False)
    server = web(WEBSOCKETS_MAX_PER_ADDRESS="60")
    # Per process the two workers would admit up to 120; counted across them, exactly 60.
    assert connect_all(server, f"/ws/stock/{product.store_id}/{product.stripe_product_id}/", 100) == 60
