"""Reads of stock and catalogue; every page, API and broadcast goes through these."""

import time
from datetime import timedelta

from django.db.models import OuterRef, QuerySet, Subquery, Sum
from django.utils import timezone

from .exceptions import ProductNotFound, StoreNotFound
from .models import Product, Reservation, RetiredScanCode, StockMovement, Store


def store_list() -> QuerySet[Store]:
    return Store.objects.all()


def store_get(*, store_id: str) -> Store:
    try:
        return Store.objects.get(pk=store_id)
    except Store.DoesNotExist:
        raise StoreNotFound(store_id) from None


def product_list_for_store(*, store: Store) -> QuerySet[Product]:
    return Product.objects.with_availability().select_related("store").filter(store=store).order_by("name")


def product_get(*, store_id: str, stripe_product_id: str) -> Product:
    try:
        return Product.objects.with_availability().select_related("store").get(
            store_id=store_id, stripe_product_id=stripe_product_id)
    except Product.DoesNotExist:
        raise ProductNotFound(store_id=store_id, stripe_product_id=stripe_product_id) from None


def product_by_id(*, product_id: int) -> Product:
    try:
        return Product.objects.with_availability().select_related("store").get(pk=product_id)
    except Product.DoesNotExist:
        raise ProductNotFound(product_id=product_id) from None


def products_by_ids(*, product_ids: list[int]) -> list[Product]:
    return list(Product.objects.with_availability().select_related("store").filter(pk__in=product_ids))


def product_last_movement_id(*, product_id: int) -> int:
    return StockMovement.objects.filter(product_id=product_id).order_by("-id").values_list("id", flat=True).first() or 0


def product_for_scan_code(*, code: str) -> Product | None:
    """The product a printed QR code names (None: no such code, or one staff retired)."""
    return Product.objects.with_availability().select_related("store").filter(scan_code=code).first()


def scan_code_retired(*, code: str) -> bool:
    return RetiredScanCode.objects.filter(code=code).exists()


def product_for_payment_link(*, payment_link_id: str) -> Product | None:
    return Product.objects.filter(payment_link_id=payment_link_id).first() if payment_link_id else None


def products_for_payment_links(*, payment_link_ids: list[str]) -> dict[str, Product]:
    return {p.payment_link_id: p for p in Product.objects.filter(payment_link_id__in=payment_link_ids)}


def product_for_price(*, price_id: str, store_id: str | None = None) -> Product | None:
    """The product sold at a price; a price stocked in several stores needs the store to decide."""
    candidates = Product.objects.filter(stripe_price_id=price_id)
    if store_id:
        candidates = candidates.filter(store_id=store_id)
    found = list(candidates[:2])
    return found[0] if len(found) == 1 else None


SNAPSHOT_FIELDS = ("store_id", "stripe_product_id", "name", "inventory", "low_stock_threshold", "unit_amount",
                   "payment_link_active", "payment_link_url", "payment_link_paused", "qr_mode", "store__qr_mode")


def stock_snapshot(*, product_id: int) -> dict:
    """What a page needs to show one product's stock, as broadcast to its watchers."""
    try:
        return _snapshot(Product.objects.with_availability().select_related("store").only(*SNAPSHOT_FIELDS)
                         .get(pk=product_id))
    except Product.DoesNotExist:
        raise ProductNotFound(product_id=product_id) from None


def _snapshot(p: Product) -> dict:
    # Every flag is derived here, once: pages and scripts show them and never re-derive them.
    return {
        "store": p.store_id,
        "product": p.stripe_product_id,
        # When this state was read: pages drop a message older than the one they show.
        "as_of": time.time(),
        "name": p.name,
        "inventory": p.inventory,
        "available": p.available,
        "sold_out": p.sold_out,
        "low_stock": p.low_stock,
        "state": p.stock_state,
        "state_text": p.stock_state_text,
        "link_active": p.payment_link_active,
        "payable": p.payable,
    }


def stock_drift() -> list[dict]:
    """Products whose stock differs from the sum of their ledger or from its last balance (one query)."""
    last = StockMovement.objects.filter(product=OuterRef("pk")).order_by("-id").values("balance_after")[:1]
    ledger_total = (StockMovement.objects.filter(product=OuterRef("pk")).order_by().values("product")
                    .annotate(total=Sum("delta")).values("total"))
    products = Product.objects.select_related("store").annotate(
        ledger_total=Subquery(ledger_total), last_balance=Subquery(last))
    drifted = []
    for p in products:
        total = p.ledger_total or 0
        if total != p.inventory or (p.last_balance is not None and p.last_balance != p.inventory):
            drifted.append({"product": p, "inventory": p.inventory, "ledger_total": total,
                            "last_balance": p.last_balance})
    return drifted


def stock_snapshots_for_page(*, store_id: str, stripe_product_id: str | None = None) -> list[dict] | None:
    """Snapshots for one product page or a whole store page; None when there is no such page."""
    products = Product.objects.with_availability().select_related("store").only(*SNAPSHOT_FIELDS).filter(
        store_id=store_id)
    if stripe_product_id:
        products = products.filter(stripe_product_id=stripe_product_id)
    snapshots = [_snapshot(p) for p in products.order_by("name")]
    if not snapshots and (stripe_product_id or not Store.objects.filter(pk=store_id).exists()):
        return None
    return snapshots


def product_ids_with_movement(*, source: str) -> list[int]:
    """Products that already have a ledger row for this source (a replayed admin form, say)."""
    return list(StockMovement.objects.filter(source=source).values_list("product_id", flat=True))


def product_alternatives(*, stripe_product_id: str, exclude_store_id: str) -> list[Product]:
    """The same Stripe product in other stores, where some of it is still available."""
    products = (Product.objects.with_availability().select_related("store")
                .filter(stripe_product_id=stripe_product_id, is_sold_out=False).exclude(store_id=exclude_store_id))
    return list(products.order_by("store__name", "store_id"))


def products_in_store(*, store_id: str, stripe_product_ids: list[str]) -> dict[str, Product]:
    """A store's products by Stripe product id (with availability); ids it does not stock are absent."""
    products = Product.objects.with_availability().select_related("store").filter(
        store_id=store_id, stripe_product_id__in=set(stripe_product_ids))
    return {p.stripe_product_id: p for p in products}


# --- Sales figures: the booth screen and the staff dashboard ---------------------------------------


def units_sold_since(*, since, store_id: str | None = None) -> dict[int, int]:
    """Units sold per product id since `since`, from the ledger's sale rows (each sale counted once:
    a ledger row is unique per source). Products without sales in the window are absent."""
    movements = StockMovement.objects.filter(reason=StockMovement.Reason.SALE, created_at__gte=since)
    if store_id is not None:
        movements = movements.filter(product__store_id=store_id)
    totals = movements.values("product_id").annotate(units=Sum("delta")).values_list("product_id", "units")
    return {product_id: -units for product_id, units in totals}


def booth_board(*, store: Store, window_minutes: int, now=None) -> list[dict]:
    """One store's products with what the booth screen shows: stock, state, units sold recently."""
    now = now or timezone.now()
    sold = units_sold_since(since=now - timedelta(minutes=window_minutes), store_id=store.pk)
    return [{"product": p, "sold_recently": sold.get(p.pk, 0)} for p in product_list_for_store(store=store)]


def sales_dashboard(*, now=None) -> dict:
    """Every product with its units sold today (since local midnight) and in the last hour, and the
    products at or under their low-stock threshold (sold out included), lowest first."""
    now = now or timezone.now()
    today_start = timezone.localtime(now).replace(hour=0, minute=0, second=0, microsecond=0)
    today = units_sold_since(since=today_start)
    last_hour = units_sold_since(since=now - timedelta(hours=1))
    products = Product.objects.with_availability().select_related("store")
    rows = [{"product": p, "sold_today": today.get(p.pk, 0), "sold_last_hour": last_hour.get(p.pk, 0)}
            for p in products.order_by("store__name", "name")]
    low = list(products.needing_restock().order_by("available_units", "store__name", "name"))
    return {"rows": rows, "low_stock": low, "generated_at": now, "today_start": today_start}


# --- The booth's day: counting and moving stock ---------------------------------------------------


def product_list_with_holds(*, store: Store) -> list[Product]:
    """A store's products with availability and `held_units` (units live reservations hold), by name."""
    products = list(product_list_for_store(store=store))
    held = Reservation.objects.live().units_per_product([p.pk for p in products])
    for p in products:
        p.held_units = held[p.pk]
    return products
