"""The catalogue's store-side fields: what a booth sets about a product besides its stock and
Stripe's fields (attributes, tags, the low-stock threshold). Stock goes through inventory.services."""

from django.db import transaction
from django.utils import timezone

from .alerts import low_stock_alert_check
from .exceptions import InvalidStockChange
from .locks import products_lock
from .models import Product

STORE_SIDE_FIELDS = ("attributes", "tags", "low_stock_threshold")


def products_store_fields_set(*, updates: dict[int, dict]) -> list[int]:
    """Set attributes, tags and low_stock_threshold per product id; returns the ids that changed.

    Locks: the products (SELECT … FOR UPDATE, pk order), as stock changes do, so it can share a
    transaction with them without deadlocking. Triggers: a low-stock check (in the transaction)
    for each product whose threshold changed.
    """
    if any(set(fields) - set(STORE_SIDE_FIELDS) for fields in updates.values()):
        raise InvalidStockChange(f"Only {', '.join(STORE_SIDE_FIELDS)} can be set here.")
    changed = []
    with transaction.atomic():
        products_lock(list(updates))
        current = {p.pk: p for p in Product.objects.filter(pk__in=updates).only(*STORE_SIDE_FIELDS)}
        for pid in sorted(updates):
            fields = {k: v for k, v in updates[pid].items() if getattr(current[pid], k) != v}
            if not fields:
                continue
            Product.objects.filter(pk=pid).update(**fields, updated_at=timezone.now())
            changed.append(pid)
            if "low_stock_threshold" in fields:
                low_stock_alert_check(product_id=pid)
    return changed
