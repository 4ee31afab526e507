"""The web process's HTTP path (swagstore/asgi.py): Django's middleware chain runs as one synchronous
call per request, and at most WEB_REQUEST_SLOTS requests run in Django at once per process."""

import asyncio
import threading

import pytest
from asgiref.sync import async_to_sync
from asgiref.testing import ApplicationCommunicator

from common.request_slots import RequestSlots
from swagstore.asgi import application, django_asgi_app


async def _get(app, path: str, *, headers=()) -> dict:
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET", "scheme": "http",
             "path": path, "raw_path": path.encode(), "query_string": b"", "root_path": "",
             "headers": [(b"host", b"localhost"), *headers], "client": ("127.0.0.1", 50000),
             "server": ("localhost", 80)}
    talk = ApplicationCommunicator(app, scope)
    await talk.send_input({"type": "http.request", "body": b"", "more_body": False})
    start = await talk.receive_output(timeout=10)
    body = b""
    while True:
        part = await talk.receive_output(timeout=10)
        body += part.get("body", b"")
        if not part.get("more_body"):
            break
    return {"status": start["status"], "headers": dict(start["headers"]), "body": body}


def test_the_middleware_chain_is_built_synchronous():
    # An async chain would have to be adapted back and forth for every synchronous middleware.
    assert not asyncio.iscoroutinefunction(django_asgi_app._middleware_chain)


@pytest.mark.django_db(transaction=True)
def test_a_page_through_the_asgi_app_gets_every_middlewares_work(make_store):
    store = make_store(name="Hall ASGI")
    answer = async_to_sync(_get)(application, f"/s/{store.pk}/")
    assert answer["status"] == 200 and b"Hall ASGI" in answer["body"]
    # Security, clickjacking and content-security-policy middleware all ran (outermost to innermost).
    headers = {name.lower(): value for name, value in answer["headers"].items()}
    assert headers[b"x-frame-options"] == b"DENY" and headers[b"x-content-type-options"] == b"nosniff"
    assert b"frame-ancestors 'none'" in headers[b"content-security-policy"]


def test_no_more_requests_than_the_slots_run_at_once(settings):
    settings.WEB_REQUEST_SLOTS = 2
    running, most, lock = 0, 0, threading.Lock()

    async def slow_app(scope, receive, send):
        nonlocal running, most
        with lock:
            running += 1
            most = max(most, running)
        await asyncio.sleep(0.05)
        with lock:
            running -= 1
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    door = RequestSlots(slow_app)

    async def crowd():
        return await asyncio.gather(*(_get(door, f"/{n}") for n in range(6)))

    answers = async_to_sync(crowd)()
    assert [a["status"] for a in answers] == [204] * 6
    assert most == 2


def test_websockets_do_not_take_a_slot(settings):
    settings.WEB_REQUEST_SLOTS = 1
    seen = []

    async def app(scope, receive, send):
        seen.append(scope["type"])

    door = RequestSlots(app)
    async_to_sync(door)({"type": "websocket"}, None, None)
    assert seen == ["websocket"] and door._slots is None


def test_a_request_runs_anyway_once_it_waited_its_time_for_a_slot(settings):
    # The slots shape a rush; they must never queue the site behind stuck requests (Redis away).
    settings.WEB_REQUEST_SLOTS, settings.WEB_REQUEST_SLOT_WAIT_SECONDS = 1, 0.05
    release = None

    async def app(scope, receive, send):
        if scope["path"] == "/stuck":
            await release.wait()
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    door = RequestSlots(app)

    async def scenario():
        nonlocal release
        release = asyncio.Event()
        stuck = asyncio.create_task(_get(door, "/stuck"))
        await asyncio.sleep(0.01)  # the stuck request holds the only slot
        other = await _get(door, "/page")
        release.set()
        return other, await stuck

    other, stuck = async_to_sync(scenario)()
    assert other["status"] == 204 and stuck["status"] == 204
