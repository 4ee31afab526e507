"""Outbound HTTP to a staff-configured URL: a total deadline per send, no redirects, no private addresses."""

import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from ipaddress import ip_network

import pytest

from common.outbound import OutboundFailed, OutboundRefused, post_json

LOOPBACK_ALLOWED = (ip_network("127.0.0.1/32"),)


class Endpoint:
    """A local HTTP endpoint answering POSTs as `behaviour` says; counts what it received."""

    def __init__(self, behaviour):
        self.hits = []
        hits = self.hits

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                self.rfile.read(int(self.headers["Content-Length"]))
                hits.append(self.path)
                behaviour(self)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def endpoint():
    made = []

    def make(behaviour):
        made.append(Endpoint(behaviour))
        return made[-1]

    yield make
    for e in made:
        e.close()


def _ok(handler):
    handler.send_response(200)
    handler.end_headers()


def test_a_healthy_endpoint_allowed_by_network_gets_the_post(endpoint):
    hook = endpoint(_ok)
    assert post_json(hook.url, {"text": "hi"}, deadline_seconds=5, allowed_networks=LOOPBACK_ALLOWED) == 200
    assert hook.hits == ["/hook"]


def test_an_endpoint_that_trickles_its_answer_is_cut_off_at_the_total_deadline(endpoint):
    # one byte every 0.4 s: each read is quick, the whole answer never comes
    def trickle(handler):
        for byte in b"HTTP/1.1 200 OK\r\n"[:-2]:
            handler.wfile.write(bytes([byte]))
            handler.wfile.flush()
            time.sleep(0.4)

    hook = endpoint(trickle)
    started = time.monotonic()
    with pytest.raises(OutboundFailed, match="deadline"):
        post_json(hook.url, {"text": "hi"}, deadline_seconds=1.5, allowed_networks=LOOPBACK_ALLOWED)
    assert time.monotonic() - started < 3  # the deadline, not 15 × the per-read pace


def test_a_redirect_is_reported_never_followed(endpoint):
    target = endpoint(_ok)

    def redirect(handler):
        handler.send_response(307)
        handler.send_header("Location", target.url)
        handler.end_headers()

    hook = endpoint(redirect)
    with pytest.raises(OutboundFailed, match="307 .a redirect.: not followed"):
        post_json(hook.url, {"text": "hi"}, deadline_seconds=5, allowed_networks=LOOPBACK_ALLOWED)
    assert target.hits == []


@pytest.mark.parametrize("url, what", [
    ("http://127.0.0.1:9/hook", "loopback"),
    ("http://localhost:9/hook", "loopback"),
    ("http://[::1]:9/hook", "loopback"),
    ("http://10.1.2.3/hook", "private"),
    ("http://192.168.0.10/hook", "private"),
    ("http://169.254.169.254/latest/meta-data/", "link-local"),
    ("http://[::ffff:169.254.169.254]/hook", "link-local"),
    ("http://0.0.0.0/hook", "address"),
])
def test_loopback_private_and_metadata_addresses_are_refused_before_connecting(url, what, monkeypatch):
    def no_connection(*args, **kwargs):
        raise AssertionError("connected to a refused address")

    monkeypatch.setattr(socket, "create_connection", no_connection)
    with pytest.raises(OutboundRefused, match=what):
        post_json(url, {"text": "hi"}, deadline_seconds=5)


def test_a_name_is_refused_if_any_of_its_addresses_is_private(monkeypatch):
    # a public address first, then the metadata service: one bad address is enough
    monkeypatch.setattr(socket, "getaddrinfo", lambda *a, **k: [
        (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.215.14", 443)),
        (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("169.254.169.254", 443))])
    with pytest.raises(OutboundRefused, match="chat.example.com resolves to 169.254.169.254, a link-local"):
        post_json("https://chat.example.com/hook", {"text": "hi"}, deadline_seconds=5)
