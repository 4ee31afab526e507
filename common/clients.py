"""Who is asking: the client address that per-address rates count, and a lock per client.

Behind a platform router, Daphne's --proxy-headers puts the *leftmost* X-Forwarded-For entry in
REMOTE_ADDR, and that entry is whatever the client wrote. Each proxy we trust appends the address
it saw at the right, so the client is the entry TRUSTED_PROXY_COUNT places from the right; entries
left of it are the client's own words and never count.

An IPv6 client is its /64, not its address: a home or a phone gets a whole /64 and picks any
address in it at will, so counting exact addresses would give one device 2^64 clients. IPv4-mapped
IPv6 addresses are their IPv4 address.
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
        return address_key((peer or "").strip())
    entries = [entry.strip() for entry in forwarded_for.split(",")]
    # Fewer entries than proxies: the chain is shorter than configured, so take the farthest hop.
    trusted = entries[-hops] if len(entries) >= hops else entries[0]
    return address_key(trusted)


def address_key(address: str) -> str:
    """The key every per-address rate counts: an IPv4 address, an IPv6 /64 (`2001:db8:1:2::/64`),
    or the text as given when it is no address at all (still one client, never a way around)."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address[:64] or UNKNOWN_CLIENT
    if ip.version == 6 and ip.ipv4_mapped:
        return str(ip.ipv4_mapped)
    if ip.version == 6:
        return str(ipaddress.IPv6Network((ip, 64), strict=False))
    return str(ip)


def networks_parse(text: str) -> list:
    """Addresses or networks (`203.0.113.7`, `2001:db8:1::/48`), separated by commas or whitespace.
    Raises ValueError naming the first entry that is neither."""
    networks = []
    for entry in text.replace(",", " ").split():
        try:
            networks.append(ipaddress.ip_network(entry, strict=False))
        except ValueError:
            raise ValueError(f"{entry!r} is not an IP address or network.") from None
    return networks


def address_in(address: str, networks: list) -> bool:
    """Whether an address key (as address_key gives it) lies in one of `networks` (ip_network objects)."""
    try:
        key = ipaddress.ip_network(address, strict=False)
    except ValueError:
        return False
    return any(key.version == net.version and key.subnet_of(net) for net in networks)


def request_client_address(request) -> str:
    """For Django requests (views, the API)."""
    return client_address(forwarded_for=request.META.get("HTTP_X_FORWARDED_FOR", ""),
                          peer=request.META.get("REMOTE_ADDR", ""))


def login_client_ip(request) -> str | None:
    """django-axes' AXES_CLIENT_IP_CALLABLE: the same address (an IPv6 /64 as its first address), or
    None when it is not an IP (axes stores it in an IP field)."""
    address = request_client_address(request)
    try:
        return str(ipaddress.ip_network(address, strict=False).network_address)
    except ValueError:
        return None


def scope_client_address(scope) -> str:
    """For ASGI scopes (WebSockets): the raw header is still in the scope when Daphne rewrote the peer."""
    headers = dict(scope.get("headers") or [])
    peer = (scope.get("client") or ("",))[0] or ""
    return client_address(forwarded_for=headers.get(b"x-forwarded-for", b"").decode("latin-1"), peer=peer)


def client_lock(*, client_refs: list[str], purpose: str) -> None:
    """Serialise capped actions of these clients (an address, a buyer…) until the transaction ends.

    Transaction-scoped advisory locks on PostgreSQL, taken in the order given (callers pass the
    address first, then the buyer) in one statement, so concurrent requests from one client count
    each other's rows; SQLite (the demo) already runs one writer at a time.
    """
    if connection.vendor != "postgresql":
        return
    keys = [int.from_bytes(hashlib.blake2b(f"{purpose}:{ref}".encode(), digest_size=8).digest(), "big", signed=True)
            for ref in client_refs]
    with connection.cursor() as cursor:
        cursor.execute("SELECT " + ", ".join(["pg_advisory_xact_lock(%s)"] * len(keys)), keys)
