"""How much one client may hold at once, so no single visitor can take a booth off sale.

A hold makes units unavailable everywhere, and the Payment Links switch off when everything left
is held; without a bound, one anonymous request for every product at full quantity would empty the
booth and switch its links off. Each client (common.clients.client_address) may keep at most
CHECKOUT_MAX_OPEN_PER_CLIENT open checkouts, CHECKOUT_MAX_UNITS_PER_PRODUCT units of any one
product and CHECKOUT_MAX_UNITS_PER_CLIENT units in all. The counts are taken under the client's
lock, inside the transaction that creates the checkout, so simultaneous requests count each other.
"""

from collections import Counter

from django.conf import settings
from django.db.models import Sum
from django.utils import timezone

from common.clients import client_lock

from ..models import Checkout, CheckoutLine


class TooManyOpenCheckouts(ValueError):
    """The client already holds as much as one client may (open checkouts or units): a 429."""


def client_holds_check(*, client_ref: str, wanted: dict[int, int], names: dict[int, str]) -> None:
    """Lock the client, then raise TooManyOpenCheckouts if `wanted` (product id → units) would go past
    a cap. Call inside the transaction that creates the checkout, before it exists."""
    client_lock(client_ref=client_ref, purpose="checkout")
    open_checkouts = _open_checkouts(client_ref)
    if (open_now := open_checkouts.count()) >= settings.CHECKOUT_MAX_OPEN_PER_CLIENT:
        raise TooManyOpenCheckouts(f"You already have {open_now} checkouts holding stock: pay for or let one "
                                   f"lapse before starting another.")
    held = _units_held(open_checkouts)
    per_product = settings.CHECKOUT_MAX_UNITS_PER_PRODUCT
    if over := sorted(names[pid] for pid, units in wanted.items() if held[pid] + units > per_product):
        raise TooManyOpenCheckouts(f"One buyer may hold at most {per_product} of each product at once "
                                   f"(too many: {', '.join(over)}).")
    total = sum(held.values()) + sum(wanted.values())
    if total > (cap := settings.CHECKOUT_MAX_UNITS_PER_CLIENT):
        raise TooManyOpenCheckouts(f"One buyer may hold at most {cap} units at once; this checkout would make "
                                   f"{total}.")


def _open_checkouts(client_ref: str):
    return Checkout.objects.filter(client_ref=client_ref[:64], status=Checkout.Status.RESERVED,
                                   expires_at__gt=timezone.now())


def _units_held(open_checkouts) -> Counter:
    rows = (CheckoutLine.objects.filter(checkout__in=open_checkouts).values("product_id")
            .annotate(units=Sum("quantity")).values_list("product_id", "units"))
    return Counter(dict(rows))
