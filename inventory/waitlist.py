"""The waitlist: buyers who found a product sold out hear once when it is back."""

from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone

from .models import Product, WaitlistEntry


def waitlist_join(*, product: Product, email: str) -> tuple[WaitlistEntry, bool]:
    """Add an address (once per product); a second join is a no-op that returns the first entry."""
    with transaction.atomic():
        return WaitlistEntry.objects.get_or_create(product=product, email=email.strip().lower())


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
