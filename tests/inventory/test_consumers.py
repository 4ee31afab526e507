"""The live stock feed, through the real ASGI application and the Redis channel layer.

pytest-asyncio is not a dependency: each test is synchronous and runs one async scenario with
asgiref's async_to_sync. Stock changes come from another thread, as a webhook worker's would, and
commit for real (transaction=True), so the broadcast fires from transaction.on_commit.
"""

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from channels.testing import WebsocketCommunicator
from django.db import connection

from inventory.models import Product
from inventory.services import stock_decrease
from swagstore.asgi import application
from tests.factories import offline_link

pytestmark = pytest.mark.django_db(transaction=True)

# The application checks the Origin against ALLOWED_HOSTS, as it would for a browser.
BROWSER_HEADERS = [(b"origin", b"http://127.0.0.1"), (b"host", b"127.0.0.1")]
TIMEOUT = 3


def feed(store_id: str, product_id: str | None = None) -> WebsocketCommunicator:
    path = f"/ws/stock/{store_id}/" + (f"{product_id}/" if product_id else "")
    return WebsocketCommunicator(application, path, headers=BROWSER_HEADERS)


FIELDS = ("type", "store", "product", "inventory", "sold_out", "low_stock", "link_active", "payable")


def stock_fields(message: dict) -> dict:
    """The fields every page relies on (messages may carry more)."""
    return {k: message[k] for k in FIELDS}


def snapshot(product: Product, **overrides) -> dict:
    product = Product.objects.with_availability().get(pk=product.pk)
    return {"type": "stock.updated", "store": product.store_id, "product": product.stripe_product_id,
            "inventory": product.inventory, "sold_out": product.sold_out, "low_stock": product.low_stock,
            "link_active": product.payment_link_active, "payable": product.payable, **overrides}


@pytest.fixture
def on_sale(make_product):
    """``on_sale(store, *, inventory, **fields)``: a product whose Payment Link the offline gateway holds,
    so payments can follow its stock."""
    return lambda store, **fields: make_product(store=store, link_at=offline_link, **fields)


def sell_in_another_thread(product: Product, quantity: int, source: str):
    """A sale committed by another thread with its own connection, like a webhook worker's."""

    def sell():
        try:
            stock_decrease(product=product, quantity=quantity, source=source)
        finally:
            connection.close()

    return sync_to_async(sell, thread_sensitive=False)()


@pytest.fixture
def booth(make_store):
    # A store id of its own keeps these groups apart from any other test run on the same Redis.
    return make_store()


def test_product_feed_sends_the_current_stock_on_connect(booth, on_sale):
    # given
    hoodie = on_sale(booth, name="Hoodie", inventory=3, low_stock_threshold=5)

    async def scenario():
        communicator = feed(booth.id, hoodie.stripe_product_id)
        connected, _ = await communicator.connect()
        try:
            return connected, await communicator.receive_json_from(TIMEOUT)
        finally:
            await communicator.disconnect()

    # when
    connected, first = async_to_sync(scenario)()

    # then
    assert connected
    assert stock_fields(first) == {"type": "stock.updated", "store": booth.id, "product": hoodie.stripe_product_id,
                     "inventory": 3, "sold_out": False, "low_stock": True, "link_active": True, "payable": True}


def test_a_sale_in_another_thread_reaches_the_product_feed(booth, on_sale):
    # given
    hoodie = on_sale(booth, name="Hoodie", inventory=10)

    async def scenario():
        communicator = feed(booth.id, hoodie.stripe_product_id)
        await communicator.connect()
        try:
            before = await communicator.receive_json_from(TIMEOUT)
            # when
            await sell_in_another_thread(hoodie, 2, source="cs_test_feed_1")
            after = await communicator.receive_json_from(TIMEOUT)
            return before, after
        finally:
            await communicator.disconnect()

    before, after = async_to_sync(scenario)()

    # then
    assert before["inventory"] == 10
    assert stock_fields(after) == snapshot(hoodie, inventory=8)


def test_selling_out_on_the_feed_then_the_link_going_off(booth, on_sale):
    # given
    tote = on_sale(booth, name="Tote", inventory=1)

    async def scenario():
        communicator = feed(booth.id, tote.stripe_product_id)
        await communicator.connect()
        try:
            await communicator.receive_json_from(TIMEOUT)
            # when
            await sell_in_another_thread(tote, 1, source="cs_test_last_one")
            return [await communicator.receive_json_from(TIMEOUT) for _ in range(2)]
        finally:
            await communicator.disconnect()

    sold_out, link_off = async_to_sync(scenario)()

    # then: sold out (not payable) at once, then the Payment Link follows stock and goes off
    assert (sold_out["inventory"], sold_out["sold_out"], sold_out["payable"]) == (0, True, False)
    assert (link_off["inventory"], link_off["link_active"], link_off["payable"]) == (0, False, False)


def test_reconnecting_gives_the_stock_sold_while_away(booth, on_sale):
    # given
    hoodie = on_sale(booth, name="Hoodie", inventory=10)

    async def scenario():
        first = feed(booth.id, hoodie.stripe_product_id)
        await first.connect()
        await first.receive_json_from(TIMEOUT)
        await first.disconnect()
        # when: sold while the page was away
        await sell_in_another_thread(hoodie, 4, source="cs_test_while_away")
        again = feed(booth.id, hoodie.stripe_product_id)
        await again.connect()
        try:
            return await again.receive_json_from(TIMEOUT)
        finally:
            await again.disconnect()

    # then
    assert async_to_sync(scenario)()["inventory"] == 6


async def _accepted_then_closed(communicator):
    """Accepted, then closed with 4404: a browser sees a final close code, not a failed handshake."""
    connected, _ = await communicator.connect()
    closed = await communicator.receive_output(TIMEOUT)
    return connected, closed


@pytest.mark.parametrize("product_id", ["prod_NOPE", None])
def test_unknown_page_is_closed_with_4404(product_id):
    async def scenario():
        return await _accepted_then_closed(feed("store_NOPE", product_id))

    assert async_to_sync(scenario)() == (True, {"type": "websocket.close", "code": 4404})


def test_unknown_product_in_a_known_store_is_closed_with_4404(booth, on_sale):
    on_sale(booth, inventory=1)

    async def scenario():
        return await _accepted_then_closed(feed(booth.id, "prod_NOPE"))

    assert async_to_sync(scenario)() == (True, {"type": "websocket.close", "code": 4404})


def test_store_feed_gets_every_product_of_the_store_and_only_those(booth, make_store, on_sale):
    # given
    mug = on_sale(booth, name="Mug", inventory=5)
    tee = on_sale(booth, name="Tee", inventory=9)
    elsewhere = on_sale(make_store(), name="Cap", inventory=4)

    async def scenario():
        communicator = feed(booth.id)
        connected, _ = await communicator.connect()
        assert connected
        try:
            snapshots = [await communicator.receive_json_from(TIMEOUT) for _ in range(2)]
            # when
            await sell_in_another_thread(elsewhere, 1, source="cs_test_other_store")
            await sell_in_another_thread(tee, 2, source="cs_test_tee")
            await sell_in_another_thread(mug, 1, source="cs_test_mug")
            updates = [await communicator.receive_json_from(TIMEOUT) for _ in range(2)]
            nothing_else = await communicator.receive_nothing(0.3)
            return snapshots, updates, nothing_else
        finally:
            await communicator.disconnect()

    snapshots, updates, nothing_else = async_to_sync(scenario)()

    # then
    assert [stock_fields(m) for m in snapshots] == [snapshot(mug, inventory=5), snapshot(tee, inventory=9)]
    assert [stock_fields(m) for m in updates] == [snapshot(tee, inventory=7), snapshot(mug, inventory=4)]
    assert nothing_else


def test_the_feed_is_read_only(booth, on_sale):
    mug = on_sale(booth, inventory=5)

    async def scenario():
        communicator = feed(booth.id, mug.stripe_product_id)
        await communicator.connect()
        try:
            await communicator.receive_json_from(TIMEOUT)
            await communicator.send_json_to({"type": "stock.updated", "product": mug.stripe_product_id,
                                             "inventory": 0})
            return await communicator.receive_nothing(0.3)
        finally:
            await communicator.disconnect()

    assert async_to_sync(scenario)()
    mug.refresh_from_db()
    assert mug.inventory == 5


# --- Issue 9, finding 11: unknown paths, junk frames and one client's many sockets ----------------------

def test_an_unknown_path_is_refused_at_the_handshake():
    async def scenario():
        for path in ["/ws/nope/", "/ws/stock/", "/anything"]:
            connected, _ = await WebsocketCommunicator(application, path, headers=BROWSER_HEADERS).connect(TIMEOUT)
            assert not connected, path

    async_to_sync(scenario)()


def test_a_junk_frame_is_ignored_quietly(caplog, make_product):
    product = make_product(inventory=2, link=False)

    async def scenario():
        page = feed(product.store_id, product.stripe_product_id)
        assert (await page.connect(TIMEOUT))[0]
        await page.receive_json_from(TIMEOUT)  # the snapshot
        await page.send_to(text_data="not json {")
        await page.send_to(bytes_data=b"\x00\xff")
        assert await page.receive_nothing(0.3)
        assert not page.future.done()  # still open, no 1011
        await page.disconnect()

    async_to_sync(scenario)()
    assert not [r for r in caplog.records if r.exc_info or r.levelname in ("ERROR", "CRITICAL")]


def test_one_address_may_hold_only_so_many_sockets(settings, make_product):
    settings.WEBSOCKETS_MAX_PER_ADDRESS = 2
    product = make_product(inventory=2, link=False)

    def from_one_client() -> WebsocketCommunicator:
        page = feed(product.store_id, product.stripe_product_id)
        page.scope["client"] = ("198.51.100.23", 50000)
        return page

    async def scenario():
        pages = [from_one_client() for _ in range(3)]
        assert [(await page.connect(TIMEOUT))[0] for page in pages] == [True, True, False]
        someone_else = feed(product.store_id, product.stripe_product_id)
        assert (await someone_else.connect(TIMEOUT))[0]
        await someone_else.disconnect()
        await pages[0].disconnect()
        again = from_one_client()
        assert (await again.connect(TIMEOUT))[0]  # a closed socket frees its place
        for page in (pages[1], again):
            await page.disconnect()

    async_to_sync(scenario)()


def test_a_broadcast_reaches_the_page_without_a_database_hop_per_page(booth, on_sale, monkeypatch):
    # Channels tidies database connections in a worker thread before each message; a broadcast
    # touches no database, and with thousands of pages open that hop per page was most of the
    # fan-out's cost. The connect snapshot still reads the database, through its own thread.
    hoodie = on_sale(booth, name="Hoodie", inventory=10)
    tidied = []

    async def counted():
        tidied.append(1)

    monkeypatch.setattr("channels.consumer.aclose_old_connections", counted)

    async def scenario():
        communicator = feed(booth.id, hoodie.stripe_product_id)
        await communicator.connect()
        try:
            before = await communicator.receive_json_from(TIMEOUT)
            hops_at_connect = len(tidied)
            await sell_in_another_thread(hoodie, 1, "cs_test_no_hop")
            after = await communicator.receive_json_from(TIMEOUT)
            return before, after, hops_at_connect, len(tidied)
        finally:
            await communicator.disconnect()

    before, after, hops_at_connect, hops_after = async_to_sync(scenario)()
    assert (before["inventory"], after["inventory"]) == (10, 9)
    assert hops_at_connect == 1 and hops_after == hops_at_connect  # the connect's, and none for the broadcast
