"""The catalogue side of the products; stock goes through inventory.services.

- What a store sells, as read from Stripe (variants, names, pictures, prices): an import is planned
  first (nothing written; every conflict found and named), then applied in one transaction, so it
  changes everything or nothing; applying the same catalogue again changes nothing.
- The store-side fields a booth sets besides stock and Stripe's fields (attributes, tags, the
  low-stock threshold).
Name, descriptions, picture, attributes and tags belong to the product, not to one size: whoever
changes them changes them on every variant of the product in the store.
"""

from dataclasses import dataclass, field
from datetime import datetime

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from .alerts import low_stock_alert_check
from .exceptions import InvalidStockChange
from .locks import products_lock
from .models import Product, Store
from .services import stock_increase
from .signals import stock_moved

# The fields one variant's row shares with its siblings (the product's, not the size's).
FAMILY_FIELDS = ("name", "description", "long_description", "image_url", "image", "attributes", "tags")
# Size and colour shared by every price of a product are details of the product (attributes), not
# variants; the import manages these keys there.
VARIANT_KEYS = ("size", "colour")


class CatalogueConflict(ValueError):
    """The store's products and Stripe's catalogue disagree in a way an import must not guess at."""


@dataclass(frozen=True)
class CatalogueEntry:
    """One Stripe price of a product, as the store sells it: one variant."""

    stripe_product_id: str
    stripe_price_id: str
    name: str
    description: str
    image_url: str
    unit_amount: int
    currency: str
    size: str = ""
    colour: str = ""
    # Size or colour every price of the product shares: shown as a detail of the product.
    shared: dict = field(default_factory=dict)

    @property
    def label(self) -> str:
        dims = ", ".join(part for part in (self.size, self.colour) if part)
        return f"{self.name} ({dims}, {self.stripe_price_id})" if dims else f"{self.name} ({self.stripe_price_id})"


@dataclass
class PlannedVariant:
    entry: CatalogueEntry
    row: Product | None  # None: a new variant
    changes: dict  # field -> new value, for an existing row
    replaces_price: str = ""  # the row's old price, archived at Stripe, that this entry takes over

    @property
    def needs_link(self) -> bool:
        return self.row is None or not self.row.payment_link_id or bool(self.replaces_price)


@dataclass
class CataloguePlan:
    store: Store
    variants: list[PlannedVariant]
    # Rows of the imported products that no active Stripe price matches any more (left as they are).
    stale: list[Product]

    @property
    def changes_anything(self) -> bool:
        return any(v.row is None or v.changes or v.replaces_price for v in self.variants)


@dataclass
class CatalogueOutcome:
    created: list[Product] = field(default_factory=list)
    updated: list[tuple[Product, list[str]]] = field(default_factory=list)
    unchanged: int = 0


def catalogue_plan(*, store: Store, entries: list[CatalogueEntry]) -> CataloguePlan:
    """Match each entry to the store's rows: by price; else by product, size and colour (a row without
    a price, or one whose price Stripe no longer sells, is taken over). Writes nothing. Raises
    CatalogueConflict naming the objects when a row would have to be guessed at."""
    rows = list(Product.objects.filter(store=store, stripe_product_id__in={e.stripe_product_id for e in entries}))
    others = {p.stripe_price_id: p for p in Product.objects.filter(
        store=store, stripe_price_id__in={e.stripe_price_id for e in entries}).exclude(
        stripe_product_id__in={e.stripe_product_id for e in entries})}
    by_price = {p.stripe_price_id: p for p in rows if p.stripe_price_id}
    by_dims = {(p.stripe_product_id, p.size, p.colour): p for p in rows}
    active = {e.stripe_price_id for e in entries}
    planned, taken = [], set()
    for entry in entries:
        if entry.stripe_price_id in others:
            other = others[entry.stripe_price_id]
            raise CatalogueConflict(f"{entry.label}: this store already sells that price as {other.display_name} "
                                    f"({other.stripe_product_id}).")
        row = by_price.get(entry.stripe_price_id) or by_dims.get((entry.stripe_product_id, entry.size, entry.colour))
        replaces = ""
        if row is not None and row.stripe_price_id not in ("", entry.stripe_price_id):
            if row.stripe_price_id in active:
                raise CatalogueConflict(f"{entry.label}: {row.display_name} in {store.pk} is sold at "
                                        f"{row.stripe_price_id}, also active in Stripe with the same size and "
                                        f"colour: give the prices different size/colour metadata.")
            replaces = row.stripe_price_id
        if row is not None and row.pk in taken:
            raise CatalogueConflict(f"{entry.label}: two Stripe prices would become the same variant "
                                    f"{row.display_name} in {store.pk}.")
        if row is not None:
            taken.add(row.pk)
        planned.append(PlannedVariant(entry=entry, row=row, changes=_changes(row, entry) if row else {},
                                      replaces_price=replaces))
    stale = [p for p in rows if p.pk not in taken]
    return CataloguePlan(store=store, variants=planned, stale=stale)


def _changes(row: Product, entry: CatalogueEntry) -> dict:
    wanted = {"name": entry.name, "description": entry.description, "image_url": entry.image_url,
              "unit_amount": entry.unit_amount, "currency": entry.currency, "size": entry.size,
              "colour": entry.colour, "stripe_price_id": entry.stripe_price_id,
              "attributes": _attributes(row.attributes, entry)}
    return {name: value for name, value in wanted.items() if getattr(row, name) != value}


def _attributes(current: dict, entry: CatalogueEntry) -> dict:
    kept = {k: v for k, v in (current or {}).items() if k not in VARIANT_KEYS}
    return {**kept, **entry.shared}


@dataclass(frozen=True)
class NewLink:
    payment_link_id: str
    url: str


def catalogue_apply(*, plan: CataloguePlan, links: dict[str, NewLink], initial_stock: int = 0,
                    read_at: datetime | None = None) -> CatalogueOutcome:
    """Write a plan in one transaction: new variants (with their new Payment Link and initial stock,
    a ledger row), changed fields, and the product's shared fields on every variant of it.

    Locks: the store's rows of the imported products (SELECT … FOR UPDATE, pk order). Triggers:
    stock_moved for each variant whose link is new (payments brings the link in step with stock),
    stock broadcasts after commit through inventory.services.
    """
    read_at = read_at or timezone.now()
    outcome = CatalogueOutcome()
    store = plan.store
    with transaction.atomic():
        ids = sorted(v.row.pk for v in plan.variants if v.row is not None)
        list(Product.objects.select_for_update(of=("self",)).filter(pk__in=ids).order_by("pk").values_list("pk"))
        for item in plan.variants:
            link = links.get(item.entry.stripe_price_id)
            if item.row is None:
                outcome.created.append(_create(store, item.entry, link, read_at))
                continue
            changes = dict(item.changes)
            if link is not None and item.needs_link:
                changes.update(payment_link_id=link.payment_link_id, payment_link_url=link.url,
                               payment_link_active=True)
            if changes:
                Product.objects.filter(pk=item.row.pk).update(**changes, catalogue_synced_at=read_at,
                                                              updated_at=timezone.now())
                outcome.updated.append((item.row, sorted(changes)))
            else:
                outcome.unchanged += 1
            if link is not None and item.needs_link:
                stock_moved.send(sender=catalogue_apply, product_id=item.row.pk)
        _family_fields_everywhere(store, plan)
        for product in outcome.created:
            if initial_stock:
                stock_increase(product=product, quantity=initial_stock, reason="initial",
                               source=f"import:{store.pk}:{product.stripe_price_id}", note="initial stock, Stripe import")
            elif product.payment_link_id:
                stock_moved.send(sender=catalogue_apply, product_id=product.pk)
    return outcome


def _create(store: Store, entry: CatalogueEntry, link: NewLink | None, read_at: datetime) -> Product:
    # A new size of a product the store has: it gets what staff gave the product (details, picture,
    # tags, thresholds, how it sells), not blanks.
    sibling = Product.objects.filter(store=store, stripe_product_id=entry.stripe_product_id).order_by("pk").first()
    inherited = {} if sibling is None else {
        "long_description": sibling.long_description, "image": sibling.image, "tags": sibling.tags,
        "low_stock_threshold": sibling.low_stock_threshold, "max_per_checkout": sibling.max_per_checkout,
        "qr_mode": sibling.qr_mode}
    attributes = _attributes(sibling.attributes if sibling else {}, entry)
    return Product.objects.create(
        store=store, stripe_product_id=entry.stripe_product_id, stripe_price_id=entry.stripe_price_id,
        name=entry.name, description=entry.description, image_url=entry.image_url, unit_amount=entry.unit_amount,
        currency=entry.currency, size=entry.size, colour=entry.colour, attributes=attributes,
        payment_link_id=link.payment_link_id if link else "", payment_link_url=link.url if link else "",
        catalogue_synced_at=read_at, **inherited)


def _family_fields_everywhere(store: Store, plan: CataloguePlan) -> None:
    """A size the import did not touch (a stale one) still shows the product's new name and picture."""
    for item in plan.variants:
        if item.row is not None and not {"name", "description", "image_url"} & set(item.changes):
            continue
        e = item.entry
        (Product.objects.filter(store=store, stripe_product_id=e.stripe_product_id)
         .exclude(name=e.name, description=e.description, image_url=e.image_url)
         .update(name=e.name, description=e.description, image_url=e.image_url, updated_at=timezone.now()))


def store_open(*, store_id: str, name: str = "", currency: str = "usd", qr_mode: str = "",
               capture_method: str = "") -> tuple[Store, bool]:
    """The store, created with these settings if it does not exist yet (an existing one is left as
    staff set it up). Raises django's ValidationError for an id or currency of the wrong shape."""
    store = Store.objects.filter(pk=store_id).first()
    if store is not None:
        return store, False
    store = Store(id=store_id, name=name or store_id, currency=currency.lower())
    store.qr_mode = qr_mode or store.qr_mode
    store.capture_method = capture_method or store.capture_method
    store.full_clean()
    store.save(force_insert=True)
    return store, True


# --- Keeping the product's shared fields in step ------------------------------------------------


STORE_SIDE_FIELDS = ("attributes", "tags", "low_stock_threshold")


def products_store_fields_set(*, updates: dict[int, dict]) -> list[int]:
    """Set attributes, tags and low_stock_threshold per product id; returns the ids that changed.

    Attributes and tags are the product's, so its other sizes get them too.

    Locks: the products and their other sizes (SELECT … FOR UPDATE, pk order), as stock changes do,
    so it can share a transaction with them without deadlocking. Triggers: a low-stock check (in the
    transaction) for each product whose threshold changed.
    """
    if any(set(fields) - set(STORE_SIDE_FIELDS) for fields in updates.values()):
        raise InvalidStockChange(f"Only {', '.join(STORE_SIDE_FIELDS)} can be set here.")
    changed = []
    with transaction.atomic():
        products_lock(list(updates) + _sibling_ids(updates))
        current = {p.pk: p for p in Product.objects.filter(pk__in=updates).only(*STORE_SIDE_FIELDS)}
        for pid in sorted(updates):
            fields = {k: v for k, v in updates[pid].items() if getattr(current[pid], k) != v}
            if not fields:
                continue
            Product.objects.filter(pk=pid).update(**fields, updated_at=timezone.now())
            changed.append(pid)
            # Attributes and tags are the product's: its other sizes show the same.
            product_family_fields_set(product=Product.objects.get(pk=pid), fields=list(fields))
            if "low_stock_threshold" in fields:
                low_stock_alert_check(product_id=pid)
    return changed


def _sibling_ids(updates: dict[int, dict]) -> list[int]:
    shared = [pid for pid, fields in updates.items() if {"attributes", "tags"} & set(fields)]
    if not shared:
        return []
    families = Product.objects.filter(pk__in=shared).values_list("store_id", "stripe_product_id")
    same = Q()
    for store_id, stripe_product_id in families:
        same |= Q(store_id=store_id, stripe_product_id=stripe_product_id)
    return list(Product.objects.filter(same).values_list("pk", flat=True))


def product_family_fields_set(*, product: Product, fields: list[str]) -> int:
    """Copy the product's shared fields (name, picture, …) from one variant to its siblings in its
    store, after staff edited them on that variant. Returns how many siblings changed."""
    shared = [f for f in fields if f in FAMILY_FIELDS]
    if not shared:
        return 0
    values = {f: getattr(product, f) for f in shared}
    return (Product.objects.filter(store_id=product.store_id, stripe_product_id=product.stripe_product_id)
            .exclude(pk=product.pk).update(**values, updated_at=timezone.now()))


def product_details_from_stripe(*, stripe_product_id: str, name: str, description: str, image_url: str,
                                at: datetime) -> int:
    """A product.updated from Stripe: name, description and picture on every variant of it, in every
    store, unless a newer read of Stripe already wrote them. Returns the rows changed."""
    newer_known = Q(catalogue_synced_at__gt=at)
    return (Product.objects.filter(stripe_product_id=stripe_product_id).exclude(newer_known)
            .exclude(name=name, description=description, image_url=image_url)
            .update(name=name, description=description, image_url=image_url, catalogue_synced_at=at,
                    updated_at=timezone.now()))


def variant_price_from_stripe(*, stripe_price_id: str, unit_amount: int | None, currency: str, size: str,
                              colour: str, at: datetime) -> int:
    """A price.updated from Stripe: its amount and currency, and a new size or colour label where the
    variant has one (a blank label, or a product without variants, stays as it is), in every store
    selling it. Returns the rows changed. Raises IntegrityError when the new label is another
    variant's (the caller keeps that apart from other work)."""
    rows = Product.objects.filter(stripe_price_id=stripe_price_id).exclude(catalogue_synced_at__gt=at)
    changed = 0
    for row in rows:
        values = {"currency": currency} if currency else {}
        if unit_amount is not None:
            values["unit_amount"] = unit_amount
        values.update({dim: label for dim, label in (("size", size), ("colour", colour)) if label and getattr(row, dim)})
        values = {k: v for k, v in values.items() if getattr(row, k) != v}
        if values:
            changed += Product.objects.filter(pk=row.pk).update(**values, catalogue_synced_at=at,
                                                                updated_at=timezone.now())
    return changed
