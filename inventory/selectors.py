"""Reads of stock and catalogue; every page, API and broadcast goes through these."""

import time
from datetime import timedelta

from django.db.models import OuterRef, QuerySet, Subquery, Sum
from django.utils import timezone

from .exceptions import ProductNotFound, StoreNotFound, VariantRequired
from .models import Product, Reservation, RetiredScanCode, StockMovement, Store
from .variants import ProductFamily, families_of, variant_sort_key


def store_list() -> QuerySet[Store]:
    return Store.objects.all()


def store_list_for_staff(*, user) -> QuerySet[Store]:
    """The booths a staff member works at (Store.staff); a superuser's are all of them."""
    return Store.objects.all() if user.is_superuser else Store.objects.filter(staff=user)


def store_get(*, store_id: str) -> Store:
    try:
        return Store.objects.get(pk=store_id)
    except Store.DoesNotExist:
        raise StoreNotFound(store_id) from None


def product_list_for_store(*, store: Store) -> QuerySet[Product]:
    """Every variant the store stocks (one row each), by product name."""
    return (Product.objects.with_availability().select_related("store").filter(store=store)
            .order_by("name", "stripe_product_id", "size", "colour"))


def product_families_for_store(*, store: Store) -> list[ProductFamily]:
    """The store's products as buyers see them: one family per Stripe product, variants in size order."""
    return families_of(product_list_for_store(store=store))


def variants_for_store(*, store: Store) -> list[Product]:
    """Every variant, grouped by product and in size order: one booth tile or QR card each."""
    return [v for family in product_families_for_store(store=store) for v in family.variants]


def product_family_get(*, store_id: str, stripe_product_id: str) -> ProductFamily:
    rows = list(Product.objects.with_availability().select_related("store").filter(
        store_id=store_id, stripe_product_id=stripe_product_id))
    if not rows:
        raise ProductNotFound(store_id=store_id, stripe_product_id=stripe_product_id)
    return ProductFamily(rows)


def product_get(*, store_id: str, stripe_product_id: str, price_id: str = "") -> Product:
    """One variant: the one sold at `price_id`, or the product's only one. Raises ProductNotFound, or
    VariantRequired when the product comes in several variants and no price says which."""
    family = product_family_get(store_id=store_id, stripe_product_id=stripe_product_id)
    return _variant_of(family, price_id)


def _variant_of(family: ProductFamily, price_id: str) -> Product:
    if price_id:
        found = [v for v in family.variants if v.stripe_price_id == price_id]
        if not found:
            raise ProductNotFound(store_id=family.store_id, stripe_product_id=family.stripe_product_id,
                                  price_id=price_id)
        return found[0]
    if len(family.variants) > 1:
        raise VariantRequired(family)
    return family.first


def variants_in_store(*, store_id: str, wanted: list[tuple[str, str]]) -> dict[tuple[str, str], Product]:
    """The variants named by (Stripe product id, price id or "") in one store, in one query. Products
    the store does not stock, and prices it does not sell, are absent; raises VariantRequired when a
    product comes in several variants and its price is "" ."""
    rows = (Product.objects.with_availability().select_related("store")
            .filter(store_id=store_id, stripe_product_id__in={product for product, _ in wanted}))
    families = {f.stripe_product_id: f for f in families_of(rows)}
    found = {}
    for product, price in dict.fromkeys(wanted):
        if product not in families:
            continue
        try:
            found[(product, price)] = _variant_of(families[product], price)
        except ProductNotFound:
            continue
    return found


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


SNAPSHOT_FIELDS = ("store_id", "stripe_product_id", "name", "size", "colour", "stripe_price_id", "inventory",
                   "low_stock_threshold", "unit_amount", "payment_link_active", "payment_link_url",
                   "payment_link_paused", "qr_mode", "store__qr_mode")


def stock_snapshot(*, product_id: int) -> dict:
    """What a page needs to show one variant's stock, with its product's totals (the family: every
    size of it), as broadcast to the product's watchers. One query: the variant and its siblings."""
    same = Product.objects.filter(pk=product_id)
    siblings = list(Product.objects.with_availability().select_related("store").only(*SNAPSHOT_FIELDS).filter(
        store_id=Subquery(same.values("store_id")), stripe_product_id=Subquery(same.values("stripe_product_id"))))
    variant = next((p for p in siblings if p.pk == product_id), None)
    if variant is None:
        raise ProductNotFound(product_id=product_id)
    return _snapshot(variant, ProductFamily(siblings))


def _snapshot(p: Product, family: ProductFamily) -> dict:
    # Every flag is derived here, once: pages and scripts show them and never re-derive them.
    return {
        "store": p.store_id,
        "product": p.stripe_product_id,
        # The variant (one row: a size, a colour, or the product itself when it has none). Pages
        # mark each variant's elements with data-stock-variant="<variant>".
        "variant": p.pk,
        "price": p.stripe_price_id,
        "size": p.size,
        "colour": p.colour,
        "variant_label": p.variant_label,
        # When this state was read: pages drop a message older than the one they show.
        "as_of": time.time(),
        "name": p.name,
        "display_name": p.display_name,
        "inventory": p.inventory,
        "available": p.available,
        "sold_out": p.sold_out,
        # Nothing to buy, but units held for buyers paying now: "reserved", they may come back.
        "reserved": p.all_reserved,
        "low_stock": p.low_stock,
        "state": p.stock_state,
        "state_text": p.stock_state_text,
        "link_active": p.payment_link_active,
        "payable": p.payable,
        # The product's totals over all its variants: what the product's own elements show.
        "family": family.summary(),
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
    snapshots = [_snapshot(p, family) for family in families_of(products.order_by("name", "stripe_product_id"))
                 for p in family.variants]
    if not snapshots and (stripe_product_id or not Store.objects.filter(pk=store_id).exists()):
        return None
    return snapshots


def product_ids_with_movement(*, source: str) -> list[int]:
    """Products that already have a ledger row for this source (a replayed admin form, say)."""
    return list(StockMovement.objects.filter(source=source).values_list("product_id", flat=True))


def product_alternatives(*, stripe_product_id: str, exclude_store_id: str, size: str = "",
                         colour: str = "") -> list[Product]:
    """The same Stripe product, in the same size and colour, in other stores where some is still available."""
    products = (Product.objects.with_availability().select_related("store")
                .filter(stripe_product_id=stripe_product_id, size=size, colour=colour, is_sold_out=False)
                .exclude(store_id=exclude_store_id))
    return list(products.order_by("store__name", "store_id"))


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
    return [{"product": p, "sold_recently": sold.get(p.pk, 0)} for p in variants_for_store(store=store)]


def sales_dashboard(*, now=None) -> dict:
    """Every product with its units sold today (since local midnight) and in the last hour, and the
    products at or under their low-stock threshold (sold out included), lowest first."""
    now = now or timezone.now()
    today_start = timezone.localtime(now).replace(hour=0, minute=0, second=0, microsecond=0)
    today = units_sold_since(since=today_start)
    last_hour = units_sold_since(since=now - timedelta(hours=1))
    products = Product.objects.with_availability().select_related("store")
    ordered = sorted(products.order_by("store__name", "name"),
                     key=lambda p: (p.store.name, p.store_id, p.name, p.stripe_product_id, variant_sort_key(p)))
    rows = [{"product": p, "sold_today": today.get(p.pk, 0), "sold_last_hour": last_hour.get(p.pk, 0)}
            for p in ordered]
    low = list(products.needing_restock().order_by("available_units", "store__name", "name"))
    return {"rows": rows, "low_stock": low, "generated_at": now, "today_start": today_start}


# --- The booth's day: counting and moving stock ---------------------------------------------------


def product_list_with_holds(*, store: Store) -> list[Product]:
    """A store's products with availability and `held_units` (units live reservations hold), by name,
    each product's sizes in size order."""
    products = variants_for_store(store=store)
    held = Reservation.objects.live().units_per_product([p.pk for p in products])
    for p in products:
        p.held_units = held[p.pk]
    return products
