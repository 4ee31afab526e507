"""Row locks on products, always taken in primary-key order so two writers can never deadlock."""

from dataclasses import dataclass

from .models import Product, Reservation


def products_lock(product_ids) -> dict[int, int]:
    """Lock the products (SELECT … FOR UPDATE, pk order) and return their on-hand stock."""
    rows = (Product.objects.select_for_update(of=("self",)).filter(pk__in=set(product_ids))
            .order_by("pk").values_list("pk", "inventory"))
    return dict(rows)


def products_lock_with_holds(product_ids, *, except_hold: str | None = None) -> tuple[dict[int, int], dict[int, int]]:
    """Lock the products, then read the units live reservations hold (`except_hold` left out): on-hand
    and held per product id. The holds are exact while the locks last: every new hold locks first."""
    on_hand = products_lock(product_ids)
    return on_hand, Reservation.objects.live().units_per_product(product_ids, except_hold=except_hold)


@dataclass(frozen=True)
class LockedProduct:
    inventory: int
    low_stock_threshold: int
    link_follows_stock: bool  # a Payment Link that stock switches on and off (not held checkout only)


def products_lock_for_hold(product_ids) -> dict[int, LockedProduct]:
    """Lock the products as products_lock does, reading in the same statement what a hold's
    follow-ups need to know (inventory.signals.HoldFacts)."""
    rows = (Product.objects.select_for_update(of=("self",)).select_related("store")
            .only("inventory", "low_stock_threshold", "payment_link_id", "qr_mode", "store__qr_mode")
            .filter(pk__in=set(product_ids)).order_by("pk"))
    return {p.pk: LockedProduct(inventory=p.inventory, low_stock_threshold=p.low_stock_threshold,
                                link_follows_stock=p.link_follows_stock) for p in rows}
