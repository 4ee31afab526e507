"""How much one buyer may hold, and how fast a buyer and an address may start holds.

A hold makes units unavailable everywhere, and the Payment Links switch off when everything left
is held; without a bound, one visitor could take a booth off sale. But an address is not a buyer:
at a conference hundreds of phones share the venue's address. So:

- **per buyer** (a browser, common/buyers.py): at most CHECKOUT_MAX_OPEN_PER_BUYER open checkouts,
  CHECKOUT_MAX_UNITS_PER_PRODUCT units of any product, CHECKOUT_MAX_UNITS_PER_BUYER units in all,
  and CHECKOUT_STARTS_PER_BUYER checkouts started per window (left and lapsed ones count: each
  costs Stripe calls);
- **per address** (an IPv4 address or an IPv6 /64): a rate sized for a venue. Up to
  CHECKOUT_STARTS_PER_ADDRESS starts per window pass freely; beyond, each start needs a solved
  proof of work (ChallengeRequired), which slows a venue a little and a script a lot; past
  CHECKOUT_STARTS_PER_ADDRESS_CEILING none starts, which bounds one address's Stripe calls. A
  store's known venue addresses (Store.venue_addresses) get the venue's rate and ceiling.

The counts are taken under the address's and the buyer's locks, inside the transaction that
creates the checkout, so simultaneous requests count each other.
"""

from collections import Counter
from datetime import timedelta

from django.conf import settings
from django.db.models import Count, Q, Sum
from django.utils import timezone

from common.buyers import Buyer
from common.clients import address_in, client_lock
from inventory.models import Store

from ..models import Checkout, CheckoutLine


class TooManyOpenCheckouts(ValueError):
    """The buyer holds or started as much as one buyer may, or the address is past its ceiling: a 429."""


class ChallengeRequired(TooManyOpenCheckouts):
    """The address is past its free rate: this start needs a solved proof of work."""


def buyer_holds_check(*, buyer: Buyer, store: Store, wanted: dict[int, int], names: dict[int, str],
                      challenge_solved: bool = False) -> None:
    """Lock the address and the buyer, then raise if `wanted` (product id → units) would go past a
    cap or a rate. Call inside the transaction that creates the checkout, before it exists."""
    client_lock(client_refs=[f"address:{buyer.address}", f"buyer:{buyer.ref}"], purpose="checkout")
    _rates_check(buyer, store, challenge_solved)
    open_checkouts = Checkout.objects.filter(buyer_ref=buyer.ref[:64], status=Checkout.Status.RESERVED,
                                             expires_at__gt=timezone.now())
    if (open_now := open_checkouts.count()) >= settings.CHECKOUT_MAX_OPEN_PER_BUYER:
        raise TooManyOpenCheckouts(f"You already have {open_now} checkouts holding stock: pay for or let one "
                                   f"lapse before starting another.")
    held = _units_held(open_checkouts)
    per_product = settings.CHECKOUT_MAX_UNITS_PER_PRODUCT
    if over := sorted(names[pid] for pid, units in wanted.items() if held[pid] + units > per_product):
        raise TooManyOpenCheckouts(f"One buyer may hold at most {per_product} of each product at once "
                                   f"(too many: {', '.join(over)}).")
    total = sum(held.values()) + sum(wanted.values())
    if total > (cap := settings.CHECKOUT_MAX_UNITS_PER_BUYER):
        raise TooManyOpenCheckouts(f"One buyer may hold at most {cap} units at once; this checkout would make "
                                   f"{total}.")


def address_rates(*, store: Store, address: str) -> tuple[int, int]:
    """(free starts per window, ceiling) for this address at this store."""
    if store.venue_addresses and address_in(address, store.venue_networks()):
        return settings.CHECKOUT_STARTS_PER_VENUE_ADDRESS, settings.CHECKOUT_STARTS_PER_VENUE_ADDRESS_CEILING
    return settings.CHECKOUT_STARTS_PER_ADDRESS, settings.CHECKOUT_STARTS_PER_ADDRESS_CEILING


def _rates_check(buyer: Buyer, store: Store, challenge_solved: bool) -> None:
    # One query counts both: every checkout started in the window, whatever became of it.
    window = settings.CHECKOUT_RATE_WINDOW_SECONDS
    started = (Checkout.objects.filter(created_at__gte=timezone.now() - timedelta(seconds=window))
               .filter(Q(client_ref=buyer.address[:64]) | Q(buyer_ref=buyer.ref[:64]))
               .aggregate(address=Count("pk", filter=Q(client_ref=buyer.address[:64])),
                          buyer=Count("pk", filter=Q(buyer_ref=buyer.ref[:64]))))
    if started["buyer"] >= (per_buyer := settings.CHECKOUT_STARTS_PER_BUYER):
        raise TooManyOpenCheckouts(f"You started {per_buyer} checkouts in the last {window} seconds: please wait "
                                   f"a minute before starting another.")
    rate, ceiling = address_rates(store=store, address=buyer.address)
    if started["address"] >= ceiling:
        raise TooManyOpenCheckouts("Too many checkouts are being started from your network right now: please try "
                                   "again in a minute.")
    if started["address"] >= rate and not challenge_solved:
        raise ChallengeRequired("Many checkouts are being started from your network right now: please try again "
                                "in a minute.")


def _units_held(open_checkouts) -> Counter:
    rows = (CheckoutLine.objects.filter(checkout__in=open_checkouts).values("product_id")
            .annotate(units=Sum("quantity")).values_list("product_id", "units"))
    return Counter(dict(rows))
