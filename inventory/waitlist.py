"""The waitlist: buyers who found a product sold out hear once when it is back.

Anyone can type any address, so the list must not become a way to mail strangers or to learn who
is on it: only sold-out products take names, one client adds at most WAITLIST_MAX_JOINS_PER_HOUR
addresses an hour, and callers answer a new and a known address alike.
"""

from datetime import timedelta

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone

from swagstore.clients import client_lock

from .models import Product, WaitlistEntry


class WaitlistRefused(ValueError):
    """The product can be bought now: there is nothing to wait for (a 409)."""


class WaitlistBusy(ValueError):
    """This client has added as many addresses as allowed for now (a 429)."""


def waitlist_join(*, product: Product, email: str, client_ref: str) -> WaitlistEntry:
    """Add an address (once per product); a second join is a no-op that returns the first entry.

    Raises WaitlistRefused while the product is available, WaitlistBusy past the client's hourly
    allowance. Locks: the client (advisory), so simultaneous joins count each other.
    """
    if not product.sold_out:
        raise WaitlistRefused(f"{product.name} is in stock in {product.store.name}: buy it now instead.")
    with transaction.atomic():
        client_lock(client_ref=client_ref, purpose="waitlist")
        _check_joins_per_hour(client_ref)
        entry, _ = WaitlistEntry.objects.get_or_create(product=product, email=email.strip().lower(),
                                                       defaults={"client_ref": client_ref[:64]})
    return entry


def _check_joins_per_hour(client_ref: str) -> None:
    since = timezone.now() - timedelta(hours=1)
    joined = WaitlistEntry.objects.filter(client_ref=client_ref[:64], created_at__gte=since).count()
    if joined >= (cap := settings.WAITLIST_MAX_JOINS_PER_HOUR):
        raise WaitlistBusy(f"One visitor may add at most {cap} waitlist addresses an hour: please try later.")


def waitlist_notify(*, product_id: int) -> int:
    """E-mail each waiting address once; returns how many were sent.

    Each entry is claimed by a conditional UPDATE (notified_at IS NULL) before its e-mail goes out,
    so two concurrent runs never send the same address twice.
    """
    product = Product.objects.select_related("store").get(pk=product_id)
    if product.available <= 0:
        return 0
    sent = 0
    for entry_id, email in WaitlistEntry.objects.filter(product_id=product_id, notified_at__isnull=True).values_list(
            "pk", "email"):
        claimed = WaitlistEntry.objects.filter(pk=entry_id, notified_at__isnull=True).update(notified_at=timezone.now())
        if claimed:
            send_mail(f"{product.name} is back", f"{product.name} is back in stock at {product.store.name}: "
                      f"{product.available} available now. First come, first served.", None, [email])
            sent += 1
    return sent


def waitlist_has_waiting(*, product_id: int) -> bool:
    return WaitlistEntry.objects.filter(product_id=product_id, notified_at__isnull=True).exists()
