"""Who is buying: a browser, not an address.

At a conference the attendees' phones reach us from one public address (the venue's NAT), so an
address is a crowd. Each browser gets its own first-party id in a signed cookie (BUYER_COOKIE),
minted the first time a view asks who is buying; the per-buyer caps count that id, and only rates
sized for a venue count the address (payments/checkout/limits.py). A client that drops the cookie
is a new buyer each time, so whatever it does is bounded by its address's rate, not by the caps.
"""

import secrets
from dataclasses import dataclass

from django.conf import settings
from django.core.signing import get_cookie_signer

from .clients import request_client_address

BUYER_COOKIE = "swag_buyer"
_SALT = "swagstore.buyer"
_YEAR = 365 * 24 * 3600


@dataclass(frozen=True)
class Buyer:
    ref: str  # the browser's own id (from the signed cookie)
    address: str  # its address key (common.clients.address_key), for per-address rates


class BuyerCookieMiddleware:
    """Read the buyer's signed cookie; set it on the response when a view used a freshly minted id."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        known = request.get_signed_cookie(BUYER_COOKIE, default=None, salt=_SALT)
        request.buyer_ref = known or secrets.token_urlsafe(16)
        request.buyer_ref_used = False
        response = self.get_response(request)
        if known is None and request.buyer_ref_used:
            response.set_cookie(BUYER_COOKIE, buyer_cookie_value(request.buyer_ref), max_age=_YEAR, httponly=True,
                                samesite="Lax", secure=settings.SESSION_COOKIE_SECURE)
        return response


def buyer_cookie_value(ref: str) -> str:
    """The cookie's value for buyer `ref`, as request.get_signed_cookie reads it back."""
    return get_cookie_signer(salt=BUYER_COOKIE + _SALT).sign(ref)


def request_buyer(request) -> Buyer:
    """The buyer behind a request (its cookie is set on the response if it is new)."""
    if not hasattr(request, "buyer_ref"):  # a request that skipped the middleware: a buyer of its own
        request.buyer_ref = secrets.token_urlsafe(16)
    request.buyer_ref_used = True
    return Buyer(ref=request.buyer_ref, address=request_client_address(request))
