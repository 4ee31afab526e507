"""Where a Payment Link scan goes, remembered for a moment in each web process.

A keynote QR code sends hundreds of phones to /q/<code>/ within seconds, and in Payment Link mode
each only needs a redirect to the link. The first scan reads the product (with its availability)
and, when the link is taking payments, remembers code → link URL for SCAN_LINK_CACHE_SECONDS; the
scans after it are answered from memory, with no query and no write.

Why a moment's staleness is safe: the redirect only shows the way to Stripe's page, and what stops
the money is the Payment Link itself, switched off at Stripe when the product sells out (and any
payment that still lands for stock already gone is given back, as ever). A phone sent to the link
a second after the last unit went sees what a phone that scanned a second earlier, and still had
the page open, sees. Only positive answers are remembered: a sold-out or switched-off product is
read every time, so a restock shows at once in the process that made it.
"""

import time

from django.conf import settings

_remembered: dict[str, tuple[float, str]] = {}
_MAX_CODES = 10_000  # a bound on memory, far above any booth's products


def link_scan_target(*, code: str) -> str | None:
    """The Payment Link a scan of `code` goes to, if remembered and still fresh."""
    found = _remembered.get(code)
    if found is None:
        return None
    fresh_until, url = found
    if fresh_until < time.monotonic():
        _remembered.pop(code, None)
        return None
    return url


def link_scan_remember(*, code: str, url: str) -> None:
    """Remember that `code` goes to `url` (a Payment Link taking payments), for a moment."""
    seconds = settings.SCAN_LINK_CACHE_SECONDS
    if seconds <= 0:
        return
    if len(_remembered) >= _MAX_CODES:
        _remembered.clear()
    _remembered[code] = (time.monotonic() + seconds, url)


def link_scan_targets_forget() -> None:
    """Forget every remembered target (a stock or link change in this process; tests)."""
    _remembered.clear()
