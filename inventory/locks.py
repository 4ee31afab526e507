"""Row locks on products, always taken in primary-key order so two writers can never deadlock."""

from .models import Product


def products_lock(product_ids) -> dict[int, int]:
    """Lock the products (SELECT … FOR UPDATE, pk order) and return their on-hand stock."""
    rows = (Product.objects.select_for_update(of=("self",)).filter(pk__in=set(product_ids))
            .order_by("pk").values_list("pk", "inventory"))
    return dict(rows)
