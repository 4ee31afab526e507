"""The waitlist: buyers who found a product sold out hear once when it is back.

Anyone can type any address, so the list must not become a way to mail strangers or to learn who
is on it: only sold-out products take names, one buyer (a browser) adds at most
WAITLIST_MAX_JOINS_PER_HOUR addresses an hour and one address, shared by a venue's crowd, at most
WAITLIST_MAX_JOINS_PER_ADDRESS_PER_HOUR, and callers answer a new and a known address alike.
"""

from datetime import timedelta

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone

from common import words
from common.buyers import Buyer
from common.clients import client_lock

from .models import Product, WaitlistEntry


class WaitlistRefused(ValueError):
    """The product can be bought now: there is nothing to wait for (a 409)."""


class WaitlistBusy(ValueError):
    """This client has added as many addresses as allowed for now (a 429)."""


def waitlist_join(*, product: Product, email: str, buyer: Buyer) -> WaitlistEntry:
    """Add an address (once per product); a second join is a no-op that returns the first entry.

    Raises WaitlistRefused while the product is available, WaitlistBusy past the buyer's or the
    address's hourly allowance. Locks: the address and the buyer (advisory), so simultaneous joins
    count each other.
    """
    if not Product.objects.sold_out().filter(pk=product.pk).exists():  # as of now, not as the caller read it
        raise WaitlistRefused(f"{product.display_name} is in stock in {product.store.name}: buy it now instead.")
    with transaction.atomic():
        client_lock(client_refs=[f"address:{buyer.address}", f"buyer:{buyer.ref}"], purpose="waitlist")
        _check_joins_per_hour(buyer)
        entry, _ = WaitlistEntry.objects.get_or_create(
            product=product, email=email.strip().lower(),
            defaults={"client_ref": buyer.address[:64], "buyer_ref": buyer.ref[:64]})
    return entry


def _check_joins_per_hour(buyer: Buyer) -> None:
    by_address, by_buyer = Q(client_ref=buyer.address[:64]), Q(buyer_ref=buyer.ref[:64])
    joined = (WaitlistEntry.objects.filter(created_at__gte=timezone.now() - timedelta(hours=1))
              .filter(by_address | by_buyer)
              .aggregate(address=Count("pk", filter=by_address), buyer=Count("pk", filter=by_buyer)))
    if joined["buyer"] >= (cap := settings.WAITLIST_MAX_JOINS_PER_HOUR):
        raise WaitlistBusy(f"One visitor may add at most {cap} waitlist addresses an hour: please try later.")
    if joined["address"] >= settings.WAITLIST_MAX_JOINS_PER_ADDRESS_PER_HOUR:
        raise WaitlistBusy("Too many waitlist addresses were added from your network this hour: please try later.")


class WaitlistMailFailed(OSError):
    """Some mails could not be sent; their entries stay waiting, so a retry of the task sends them.
    An OSError, like the mail server's own errors, so the task's autoretry covers it."""


def waitlist_notify(*, product_id: int) -> int:
    """E-mail each waiting address once; returns how many were sent.

    Each entry is marked notified only after its mail went out, so a mail server hiccup leaves it
    waiting for the task's retry. Locks: each entry row while its mail is sent (FOR UPDATE SKIP
    LOCKED), so a concurrent run skips it instead of sending it a second time. Raises
    WaitlistMailFailed, after trying every address, when any send failed.
    """
    product = Product.objects.with_availability().select_related("store").get(pk=product_id)
    if product.available <= 0:
        return 0
    sent, failed = 0, []
    for entry_id in WaitlistEntry.objects.filter(product_id=product_id, notified_at__isnull=True).values_list(
            "pk", flat=True):
        try:
            sent += _mail_entry(entry_id, product)
        except OSError as exc:  # smtplib's errors are OSErrors; the entry stays waiting
            failed.append(exc)
    if failed:
        raise WaitlistMailFailed(f"{words.mails(len(failed))} to the waitlist for {product} not sent: {failed[0]}") from failed[0]
    return sent


def _mail_entry(entry_id: int, product: Product) -> int:
    """Send one entry its mail and mark it, in one transaction: 1 if sent now, 0 if another run has
    it or already sent it. A failed send rolls the mark back."""
    with transaction.atomic():
        entry = (WaitlistEntry.objects.select_for_update(skip_locked=True)
                 .filter(pk=entry_id, notified_at__isnull=True).first())
        if entry is None:
            return 0
        send_mail(f"{product.display_name} is back", f"{product.display_name} is back in stock at {product.store.name}: "
                  f"{product.available} available now. First come, first served.", None, [entry.email])
        entry.notified_at = timezone.now()
        entry.save(update_fields=["notified_at"])
        return 1


def waitlist_has_waiting(*, product_id: int) -> bool:
    return WaitlistEntry.objects.filter(product_id=product_id, notified_at__isnull=True).exists()
