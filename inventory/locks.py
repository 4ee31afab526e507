"""Row locks on products, always taken in primary-key order so two writers can never deadlock."""

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
