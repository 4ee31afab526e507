"""Outbound HTTP to addresses staff configure (the chat webhook for alerts): one POST, bounded.

- A **total** deadline per send: connecting, sending and reading the answer's status line together.
  (A per-read timeout lets an endpoint that trickles a byte every few seconds hold a worker for ever.)
- No redirects: a 3xx is a failed try (tried again later, within the caller's bounded tries),
  reported, never followed.
- Never to loopback, private, link-local (169.254.169.254, cloud metadata), multicast or reserved
  addresses: the name is resolved once, every address it resolves to is checked, and the connection
  goes to a checked address (so the name cannot resolve elsewhere between check and connect).
  `allowed_networks` lets a deploy (or a test) name a private network it really means.

Only the status line is read: the body of a chat service's answer tells us nothing we act on.
"""

from __future__ import annotations

import ipaddress
import json
import socket
import ssl
import time
from urllib.parse import urlsplit

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class OutboundRefused(Exception):
    """The send cannot succeed as configured (a refused address, a 4xx): retrying will not help."""


class OutboundFailed(Exception):
    """The send failed in a way that may pass (timeout, connection refused, 5xx, 429, a redirect):
    try again later."""


def post_json(url: str, payload: dict, *, deadline_seconds: float, headers: dict | None = None,
              allowed_networks: tuple[Network, ...] = ()) -> int:
    """POST `payload` as JSON; returns the 2xx status. Raises OutboundRefused or OutboundFailed."""
    target = urlsplit(url)
    if target.scheme not in ("http", "https") or not target.hostname:
        raise OutboundRefused(f"not an http or https URL: {url!r}")
    port = target.port or (443 if target.scheme == "https" else 80)
    deadline = time.monotonic() + deadline_seconds
    address = checked_address(target.hostname, port, allowed_networks=allowed_networks)
    body = json.dumps(payload).encode()
    request = _request_bytes(target, body, headers or {})
    try:
        status = _exchange(address, port, target, request, deadline)
    except (TimeoutError, socket.timeout) as exc:
        raise OutboundFailed(f"no answer within the {deadline_seconds:g} s deadline") from exc
    except (OSError, ssl.SSLError, ValueError) as exc:
        raise OutboundFailed(f"{type(exc).__name__}: {exc}") from exc
    return _judge(status, url)


def checked_address(host: str, port: int, *, allowed_networks: tuple[Network, ...] = ()) -> str:
    """The address to connect to, once every address `host` resolves to is a public one (or allowed)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise OutboundFailed(f"cannot resolve {host}: {exc}") from exc
    addresses = list(dict.fromkeys(info[4][0] for info in infos))
    for address in addresses:
        if reason := _address_refusal(ipaddress.ip_address(address.split("%")[0]), allowed_networks):
            raise OutboundRefused(f"{host} resolves to {address}, {reason}: refused")
    return addresses[0]


def _address_refusal(ip, allowed_networks) -> str | None:
    if any(ip in network for network in allowed_networks):
        return None
    if getattr(ip, "ipv4_mapped", None):
        ip = ip.ipv4_mapped
    for test, what in (("is_loopback", "a loopback address"), ("is_link_local", "a link-local (metadata) address"),
                       ("is_private", "a private address"), ("is_multicast", "a multicast address"),
                       ("is_reserved", "a reserved address"), ("is_unspecified", "an unspecified address")):
        if getattr(ip, test):
            return what
    return None


def _request_bytes(target, body: bytes, headers: dict) -> bytes:
    path = (target.path or "/") + (f"?{target.query}" if target.query else "")
    host = target.hostname + (f":{target.port}" if target.port else "")
    lines = [f"POST {path} HTTP/1.1", f"Host: {host}", "Content-Type: application/json",
             f"Content-Length: {len(body)}", "Connection: close",
             *(f"{name}: {value}" for name, value in headers.items())]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def _exchange(address: str, port: int, target, request: bytes, deadline: float) -> int:
    with socket.create_connection((address, port), timeout=_left(deadline)) as raw:
        sock = raw
        if target.scheme == "https":
            sock = ssl.create_default_context().wrap_socket(raw, server_hostname=target.hostname)
        try:
            sock.settimeout(_left(deadline))
            sock.sendall(request)
            return _status(sock, deadline)
        finally:
            if sock is not raw:
                sock.close()


def _status(sock, deadline: float) -> int:
    """Read until the status line is complete, each read bounded by what is left of the deadline."""
    received = b""
    while b"\r\n" not in received:
        sock.settimeout(_left(deadline))
        chunk = sock.recv(256)
        if not chunk:
            raise OutboundFailed("the connection closed before an answer")
        received += chunk
        if len(received) > 8192:
            raise OutboundFailed("no HTTP status line in the answer")
    parts = received.split(b"\r\n", 1)[0].split()
    if len(parts) < 2 or not parts[0].startswith(b"HTTP/") or not parts[1].isdigit():
        raise OutboundFailed(f"not an HTTP answer: {received[:60]!r}")
    return int(parts[1])


def _left(deadline: float) -> float:
    left = deadline - time.monotonic()
    if left <= 0:
        raise TimeoutError("deadline passed")
    return left


def _judge(status: int, url: str) -> int:
    if 200 <= status < 300:
        return status
    if 300 <= status < 400:  # maybe a maintenance page for a while: tried again, never followed
        raise OutboundFailed(f"answered HTTP {status} (a redirect): not followed; if it lasts, fix the URL {url}")
    if status in (408, 425, 429) or status >= 500:
        raise OutboundFailed(f"answered HTTP {status}")
    raise OutboundRefused(f"answered HTTP {status}")
