"""Who is asking: the client address that per-client limits count, and a lock per client.

Behind a platform router, Daphne's --proxy-headers puts the *leftmost* X-Forwarded-For entry in
REMOTE_ADDR, and that entry is whatever the client wrote. Each proxy we trust appends the address
it saw at the right, so the client is the entry TRUSTED_PROXY_COUNT places from the right; entries
left of it are the client's own words and never count.
"""

import hashlib
import ipaddress

from django.conf import settings
from django.db import connection

# An empty or missing address is still one client (it shares this key), never a way around a cap.
UNKNOWN_CLIENT = "unknown"


def client_address(*, forwarded_for: str, peer: str) -> str:
    """The address our trusted proxies saw, from an X-Forwarded-For value and the socket peer."""
    hops = settings.TRUSTED_PROXY_COUNT
    if hops <= 0 or not forwarded_for:
        return (peer or "").strip()[:64] or UNKNOWN_CLIENT
    entries = [entry.strip() for entry in forwarded_for.split(",")]
    # Fewer entries than proxies: the chain is shorter than configured, so take the farthest hop.
    trusted = entries[-hops] if len(entries) >= hops else entries[0]
    return trusted[:64] or UNKNOWN_CLIENT


def request_client_address(request) -> str:
    """For Django requests (views, the API)."""
    return client_address(forwarded_for=request.META.get("HTTP_X_FORWARDED_FOR", ""),
                          peer=request.META.get("REMOTE_ADDR", ""))


def login_client_ip(request) -> str | None:
    """django-axes' AXES_CLIENT_IP_CALLABLE: the same address, or None when it is not an IP (axes
    stores it in an IP field)."""
    address = request_client_address(request)
    try:
        return str(ipaddress.ip_address(address))
    except ValueError:
        return None


def scope_client_address(scope) -> str:
    """For ASGI scopes (WebSockets): the raw header is still in the scope when Daphne rewrote the peer."""
    headers = dict(scope.get("headers") or [])
    peer = (scope.get("client") or ("",))[0] or ""
    return client_address(forwarded_for=headers.get(b"x-forwarded-for", b"").decode("latin-1"), peer=peer)


def client_lock(*, client_ref: str, purpose: str) -> None:
    """Serialise one client's capped actions until the current transaction ends.

    A transaction-scoped advisory lock on PostgreSQL, so concurrent requests from one client count
    each other's rows; SQLite (the demo) already runs one writer at a time.
    """
    if connection.vendor != "postgresql":
        return
    digest = hashlib.blake2b(f"{purpose}:{client_ref}".encode(), digest_size=8).digest()
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [int.from_bytes(digest, "big", signed=True)])
