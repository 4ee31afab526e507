"""Set a store up from a Stripe account's catalogue, without anyone typing a Stripe id.

  1. read every active product and one-time price (the gateway; offline, the demo's notebook);
  2. check them all and plan the store's variants (nothing written; stops naming the object);
  3. give every variant without a Payment Link one, through the gateway: links this store made
     before are found by their metadata first, so a run that stopped half-way never makes two;
     a variant whose price Stripe archived for a new one gets a new link and the old is switched off;
  4. write everything in one transaction (inventory.catalogue), with new variants' initial stock
     as ledger rows, and ask for each new link to follow stock (LinkSync).
Running it again changes nothing (and calls Stripe only to read).
"""

from dataclasses import dataclass, field

from django.conf import settings
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from common import words
from inventory.catalogue import (CatalogueConflict, CataloguePlan, NewLink, PlannedVariant, catalogue_apply,
                                 catalogue_plan)
from inventory.models import Product, Store

from ..gateway import GatewayError, get_gateway
from ..models import LinkSync
from .errors import CatalogueImportError
from .stripe_catalogue import catalogue_entries, pictures_refused

MAX_PER_CHECKOUT_DEFAULT = Product._meta.get_field("max_per_checkout").default


@dataclass
class ImportReport:
    store_id: str
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: int = 0
    links_created: int = 0
    links_retired: list[str] = field(default_factory=list)
    stale: list[str] = field(default_factory=list)
    pictures_refused: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.created or self.updated or self.links_created or self.links_retired)

    def lines(self) -> list[str]:
        lines = [f"{self.store_id}: {words.variants(len(self.created))} created, {len(self.updated)} updated, "
                 f"{self.unchanged} unchanged; {words.payment_links(self.links_created)} created."]
        lines += [f"  + {name}" for name in self.created]
        lines += [f"  ~ {name}" for name in self.updated]
        lines += [f"  Switched off the old Payment Link {link} (its price was archived): print the QR sheet again."
                  for link in self.links_retired]
        lines += [f"  ! {name}: no active Stripe price any more; left as it is (set its stock to 0 to stop selling it)."
                  for name in self.stale]
        lines += [f"  ! {line}" for line in self.pictures_refused]
        return lines


def catalogue_import(*, store: Store, product_ids: list[str] | None = None, initial_stock: int = 0) -> ImportReport:
    """Import the account's catalogue (or the products named) into `store`. Raises
    CatalogueImportError, having written nothing in the store, when Stripe fails or the catalogue
    cannot be sold as it is. Triggers: link syncs for new links, stock broadcasts for initial stock."""
    if initial_stock < 0:
        raise CatalogueImportError(f"Initial stock must be 0 or more, not {initial_stock}.")
    gateway = get_gateway()
    read_at = timezone.now()
    products = _stripe(lambda: gateway.product_list(), "listing the products")
    prices = _stripe(lambda: gateway.price_list(), "listing the prices")
    entries = catalogue_entries(products=products, prices=prices, store=store, product_ids=product_ids)
    try:
        plan = catalogue_plan(store=store, entries=entries)
    except CatalogueConflict as conflict:
        raise CatalogueImportError(str(conflict)) from conflict
    links, retired, links_created = _links(plan, gateway, initial_stock)
    try:
        with transaction.atomic():
            outcome = catalogue_apply(plan=plan, links=links, initial_stock=initial_stock, read_at=read_at)
            # A replaced link: what LinkSync last heard from Stripe was about the old one.
            LinkSync.objects.filter(product_id__in=[v.row.pk for v in plan.variants if v.replaces_price]).update(
                pushed=None)
    except IntegrityError as exc:
        raise CatalogueImportError(f"The store's products changed while importing ({exc}); nothing was "
                                   f"written: run the import again.") from exc
    return ImportReport(
        store_id=store.pk, created=[p.display_name for p in outcome.created],
        updated=[f"{p.display_name}: {', '.join(fields)}" for p, fields in outcome.updated],
        unchanged=outcome.unchanged, links_created=links_created,
        links_retired=retired, stale=[p.display_name for p in plan.stale],
        pictures_refused=pictures_refused(products, {e.stripe_product_id for e in entries}))


def _stripe(call, doing: str):
    try:
        return call()
    except GatewayError as exc:
        raise CatalogueImportError(f"Stripe failed while {doing}: {exc}. Nothing was changed.") from exc


# --- Payment Links ---------------------------------------------------------------------------------


def _links(plan: CataloguePlan, gateway, initial_stock: int) -> tuple[dict[str, NewLink], list[str], int]:
    """A link for every variant that needs one (found, else created), the old links of replaced
    prices switched off, and how many links were created. Only Stripe is written here; the store
    is written afterwards, at once."""
    wanted = [v for v in plan.variants if v.needs_link]
    if not wanted:
        return {}, [], 0
    store = plan.store
    made_before = {(md.get("store_id"), md.get("price")): link
                   for link in _stripe(lambda: gateway.payment_link_list(), "listing the Payment Links")
                   if (md := link.get("metadata") or {}).get("store_id") == store.pk}
    links, created = {}, 0
    for variant in wanted:
        price = variant.entry.stripe_price_id
        link = made_before.get((store.pk, price))
        created += link is None
        link = link or _stripe(
            lambda v=variant: gateway.payment_link_create(params=payment_link_params(store, v, initial_stock),
                                                          idempotency_key=f"plink:create:{store.pk}:{price}"),
            f"creating the Payment Link of {variant.entry.label}")
        links[price] = NewLink(payment_link_id=link["id"], url=link["url"])
    retired = []
    for variant in wanted:
        old = variant.row.payment_link_id if variant.replaces_price and variant.row.payment_link_id else ""
        if old:
            _stripe(lambda link_id=old: gateway.payment_link_update(
                link_id, params={"active": False, "inactive_message": settings.PAYMENT_LINK_INACTIVE_MESSAGE},
                idempotency_key=f"plink:retire:{link_id}"), f"switching off the old Payment Link {old}")
            retired.append(old)
    return links, retired, created


def payment_link_params(store: Store, variant: PlannedVariant, initial_stock: int) -> dict:
    """One variant's Payment Link: its price, 1 to max_per_checkout units, the store's capture method,
    at most as many completed sessions as units in stock (LinkSync keeps it so), a message once it
    is off, and back to our own thank-you page after paying."""
    entry, row = variant.entry, variant.row
    stock = row.inventory if row is not None else initial_stock
    most = row.max_per_checkout if row is not None else MAX_PER_CHECKOUT_DEFAULT
    what = {"store_id": store.pk, "product": entry.stripe_product_id, "price": entry.stripe_price_id}
    thanks = settings.SITE_URL + reverse("payments:thanks", kwargs={"store_id": store.pk})
    return {
        "line_items": [{"price": entry.stripe_price_id, "quantity": 1,
                        **({"adjustable_quantity": {"enabled": True, "minimum": 1, "maximum": most}} if most > 1 else {})}],
        "payment_intent_data": {"capture_method": store.capture_method, "metadata": what},
        # Stripe wants a limit of at least 1: a variant with no stock is switched off by its sync.
        "restrictions": {"completed_sessions": {"limit": max(stock, 1)}},
        "inactive_message": settings.PAYMENT_LINK_INACTIVE_MESSAGE,
        "after_completion": {"type": "redirect",
                             "redirect": {"url": thanks + "?session_id={CHECKOUT_SESSION_ID}"}},
        "metadata": what,
    }
