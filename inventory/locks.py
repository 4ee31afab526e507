"""Row locks on products, always taken in primary-key order so two writers can never deadlock."""

from django.db.models import Q, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone

from .models import Product, Reservation


def products_lock(product_ids) -> dict[int, int]:
    """Lock the products (SELECT … FOR UPDATE, pk order) and return their on-hand stock."""
    rows = (Product.objects.select_for_update(of=("self",)).filter(pk__in=set(product_ids))
            .order_by("pk").values_list("pk", "inventory"))
    return dict(rows)


def units_held(product_ids, *, except_hold: str | None = None) -> dict[int, int]:
    """Units held by unexpired reservations. Exact only while the products are locked: every new
    reservation locks its product first."""
    live = Q(state=Reservation.State.HELD, expires_at__gt=timezone.now())
    rows = (Reservation.objects.filter(live, product_id__in=set(product_ids))
            .exclude(hold_ref=except_hold or "").values("product_id")
            .annotate(held=Coalesce(Sum("quantity"), 0)).values_list("product_id", "held"))
    return {pid: 0 for pid in product_ids} | dict(rows)
