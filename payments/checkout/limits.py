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
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import connection
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
    counts = _buyer_counts(buyer)
    _rates_check(buyer, store, counts, challenge_solved)
    if counts.open_now >= settings.CHECKOUT_MAX_OPEN_PER_BUYER:
        raise TooManyOpenCheckouts(f"You already have {counts.open_now} checkouts holding stock: pay for or let one "
                                   f"lapse before starting another.")
    held = counts.units_held
    per_product = settings.CHECKOUT_MAX_UNITS_PER_PRODUCT
    if over := sorted(names[pid] for pid, units in wanted.items() if held[pid] + units > per_product):
        raise TooManyOpenCheckouts(f"One buyer may hold at most {per_product} of each product at once "
                                   f"(too many: {', '.join(over)}).")
    total = sum(held.values()) + sum(wanted.values())
    if total > (cap := settings.CHECKOUT_MAX_UNITS_PER_BUYER):
        raise TooManyOpenCheckouts(f"One buyer may hold at most {cap} units at once; this checkout would make "
                                   f"{total}.")


@dataclass(frozen=True)
class BuyerCounts:
    started_by_address: int  # checkouts started in the rate window, whatever became of them
    started_by_buyer: int
    open_now: int  # the buyer's checkouts still holding stock
    units_held: Counter  # product id → units those hold


def _buyer_counts(buyer: Buyer) -> BuyerCounts:
    """Everything the caps and rates need, in one statement (a keynote rush runs this per winner).
    Run after client_lock: under READ COMMITTED a statement sees what committed before it began,
    so it must begin after the locks are ours to count the buyer's other requests."""
    checkouts, lines = Checkout._meta.db_table, CheckoutLine._meta.db_table
    now = timezone.now()
    since = now - timedelta(seconds=settings.CHECKOUT_RATE_WINDOW_SECONDS)
    now, since = (connection.ops.adapt_datetimefield_value(t) for t in (now, since))  # SQLite (the demo) too
    address, ref = buyer.address[:64], buyer.ref[:64]
    with connection.cursor() as cursor:
        cursor.execute(
            f"WITH started AS (SELECT count(*) FILTER (WHERE client_ref = %s) AS address,"
            f"                        count(*) FILTER (WHERE buyer_ref = %s) AS buyer"
            f"                 FROM {checkouts} WHERE created_at >= %s AND (client_ref = %s OR buyer_ref = %s)),"
            f" open AS (SELECT id FROM {checkouts} WHERE buyer_ref = %s AND status = %s AND expires_at > %s) "
            f"SELECT s.address, s.buyer, (SELECT count(*) FROM open), l.product_id, sum(l.quantity) "
            f"FROM started s LEFT JOIN {lines} l ON l.checkout_id IN (SELECT id FROM open) "
            f"GROUP BY s.address, s.buyer, l.product_id",
            [address, ref, since, address, ref, ref, Checkout.Status.RESERVED.value, now])
        rows = cursor.fetchall()
    first = rows[0]
    return BuyerCounts(started_by_address=first[0], started_by_buyer=first[1], open_now=first[2],
                       units_held=Counter({pid: units for *_, pid, units in rows if pid is not None}))


def address_rates(*, store: Store, address: str) -> tuple[int, int]:
    """(free starts per window, ceiling) for this address at this store."""
    if store.venue_addresses and address_in(address, store.venue_networks()):
        return settings.CHECKOUT_STARTS_PER_VENUE_ADDRESS, settings.CHECKOUT_STARTS_PER_VENUE_ADDRESS_CEILING
    return settings.CHECKOUT_STARTS_PER_ADDRESS, settings.CHECKOUT_STARTS_PER_ADDRESS_CEILING


def _rates_check(buyer: Buyer, store: Store, counts: BuyerCounts, challenge_solved: bool) -> None:
    window = settings.CHECKOUT_RATE_WINDOW_SECONDS
    if counts.started_by_buyer >= (per_buyer := settings.CHECKOUT_STARTS_PER_BUYER):
        raise TooManyOpenCheckouts(f"You started {per_buyer} checkouts in the last {window} seconds: please wait "
                                   f"a minute before starting another.")
    rate, ceiling = address_rates(store=store, address=buyer.address)
    if counts.started_by_address >= ceiling:
        raise TooManyOpenCheckouts("Too many checkouts are being started from your network right now: please try "
                                   "again in a minute.")
    if counts.started_by_address >= rate and not challenge_solved:
        raise ChallengeRequired("Many checkouts are being started from your network right now: please try again "
                                "in a minute.")
