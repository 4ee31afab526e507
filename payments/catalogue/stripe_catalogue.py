"""Stripe's products and prices, read as the variants a store sells, and checked before anything is
written: a product without a price, a price in a currency the store does not sell in, a price
without a fixed amount, or two prices that would be the same variant stop the import, named.

Metadata keys (on the price, or on the product for all its prices; the price's wins):
  size     the variant's size ("S", "M", "XL", "42", …)
  colour   the variant's colour ("navy"); `color` is read too
A product whose prices differ by size and/or colour is sold in variants; a size or colour every
price shares (or a product's only price has) is a detail shown on the product page instead.
"""

from urllib.parse import urlsplit

from django.conf import settings

from inventory.catalogue import CatalogueEntry
from inventory.models import Store

from .errors import CatalogueImportError

NAME_MAX, DESCRIPTION_MAX, IMAGE_URL_MAX, LABEL_MAX = 200, 500, 2000, 64


def catalogue_entries(*, products: list[dict], prices: list[dict], store: Store,
                      product_ids: list[str] | None = None) -> list[CatalogueEntry]:
    """One entry per (product, active one-time price), for the products asked for (all by default)."""
    chosen = _chosen(products, product_ids)
    by_product: dict[str, list[dict]] = {p["id"]: [] for p in chosen}
    for price in prices:
        if price.get("type", "one_time") == "one_time" and price.get("product") in by_product:
            by_product[price["product"]].append(price)
    entries = []
    for product in chosen:
        entries += _entries_of(product, by_product[product["id"]], store)
    return entries


def _chosen(products: list[dict], product_ids: list[str] | None) -> list[dict]:
    if not product_ids:
        return sorted(products, key=lambda p: p["id"])
    by_id = {p["id"]: p for p in products}
    missing = [pid for pid in product_ids if pid not in by_id]
    if missing:
        raise CatalogueImportError(f"Not an active product in this Stripe account: {', '.join(missing)}.")
    return [by_id[pid] for pid in dict.fromkeys(product_ids)]


def _entries_of(product: dict, prices: list[dict], store: Store) -> list[CatalogueEntry]:
    name = (product.get("name") or product["id"])[:NAME_MAX]
    what = f"Product {product['id']} ({name})"
    if not prices:
        raise CatalogueImportError(f"{what} has no active one-time price: add one in Stripe, archive the product, "
                                   f"or import only the products you want (--product).")
    dims = []
    for price in sorted(prices, key=lambda p: p["id"]):
        _check_price(price, what, store)
        dims.append((price, _label(price, product, "size"), _label(price, product, "colour")))
    sizes_vary = len({size for _, size, _ in dims}) > 1
    colours_vary = len({colour for _, _, colour in dims}) > 1
    seen: dict[tuple[str, str], str] = {}
    entries = []
    for price, size, colour in dims:
        key = (size if sizes_vary else "", colour if colours_vary else "")
        if key in seen:
            raise CatalogueImportError(
                f"{what}: prices {seen[key]} and {price['id']} would be the same variant "
                f"({', '.join(k for k in (size, colour) if k) or 'no size or colour'}): set `size` or `colour` in each "
                f"price's metadata, or archive one of them.")
        seen[key] = price["id"]
        shared = {k: v for k, v, varies in (("size", size, sizes_vary), ("colour", colour, colours_vary))
                  if v and not varies}
        entries.append(CatalogueEntry(
            stripe_product_id=product["id"], stripe_price_id=price["id"], name=name,
            description=(product.get("description") or "")[:DESCRIPTION_MAX], image_url=_image(product),
            unit_amount=price["unit_amount"], currency=price["currency"].lower(), size=key[0], colour=key[1],
            shared=shared))
    return entries


def _check_price(price: dict, what: str, store: Store) -> None:
    currency = (price.get("currency") or "").lower()
    if currency != store.currency:
        raise CatalogueImportError(f"{what}: price {price['id']} is in {currency.upper() or '?'}, but {store.pk} "
                                   f"sells in {store.currency.upper()}: archive the price, or change the store's "
                                   f"currency.")
    amount = price.get("unit_amount")
    if not isinstance(amount, int) or amount <= 0 or price.get("billing_scheme", "per_unit") != "per_unit":
        raise CatalogueImportError(f"{what}: price {price['id']} has no fixed unit amount (customer-chosen or "
                                   f"tiered): the store decides each sale from a fixed price per unit.")


def _label(price: dict, product: dict, key: str) -> str:
    for metadata in (price.get("metadata") or {}, product.get("metadata") or {}):
        for name in ((key, "color") if key == "colour" else (key,)):
            value = str(metadata.get(name) or "").strip()
            if value:
                return value[:LABEL_MAX]
    return ""


def _image(product: dict) -> str:
    images = [url for url in product.get("images") or [] if _picture_url_safe(url)]
    return images[0] if images else ""


def pictures_refused(products: list[dict], product_ids: set[str]) -> list[str]:
    """A line per picture of these products that is not stored: only https: URLs are (never
    `javascript:`, `data:` or plain http to some internal address), rendered in our pages' <img>,
    and our own site's (SITE_URL: the demo's pictures, served over http on a laptop)."""
    return [f"{p.get('name') or p['id']} ({p['id']}): picture {str(url)[:80]!r} left out: only https: pictures "
            f"are shown" for p in products if p["id"] in product_ids
            for url in p.get("images") or [] if not _picture_url_safe(url)]


def _picture_url_safe(url) -> bool:
    if not isinstance(url, str) or len(url) > IMAGE_URL_MAX:
        return False
    if any(c.isspace() or ord(c) < 32 for c in url):
        return False
    parts = urlsplit(url)
    return (parts.scheme == "https" and bool(parts.hostname)) or url.startswith(settings.SITE_URL.rstrip("/") + "/")


def entry_from_price_event(price: dict) -> dict:
    """What a price.updated says about a variant: amount, currency, and the size/colour labels its own
    metadata gives ("" when it gives none: the product's metadata, not in the event, may)."""
    amount = price.get("unit_amount") if price.get("billing_scheme", "per_unit") == "per_unit" else None
    return {"stripe_price_id": price["id"], "unit_amount": amount if isinstance(amount, int) and amount > 0 else None,
            "currency": (price.get("currency") or "").lower(), "size": _label(price, {}, "size"),
            "colour": _label(price, {}, "colour")}


def details_from_product_event(product: dict) -> dict:
    """What a product.updated says about a product: its name, description and picture."""
    return {"stripe_product_id": product["id"], "name": (product.get("name") or product["id"])[:NAME_MAX],
            "description": (product.get("description") or "")[:DESCRIPTION_MAX], "image_url": _image(product)}
