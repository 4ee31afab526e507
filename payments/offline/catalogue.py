"""A Stripe account's catalogue, offline: products and prices go in the offline gateway's notebook,
and the demo's stores are set up from it by the same import a real booth runs (payments/catalogue)."""

from inventory import selectors as inventory_selectors

from ..catalogue.errors import CatalogueImportError
from ..catalogue.imports import ImportReport, catalogue_import
from ..gateway import gateway_is_offline, get_gateway
from .shapes import stripe_shape


def offline_catalogue_put(*, catalogue: list[dict]) -> None:
    """Place products and their prices in the offline Stripe account, as Stripe would hold them.
    `catalogue`: [{id, name, description, images, metadata, active?, prices: [{id, unit_amount,
    currency, metadata, active?, type?}]}] (inventory/demo.py writes the demo's)."""
    gateway = get_gateway()
    for product in catalogue:
        gateway.notebook_put(stripe_shape(
            "product", id=product["id"], name=product["name"], description=product.get("description"),
            images=product.get("images") or [], metadata=product.get("metadata") or {},
            active=product.get("active", True), default_price=None))
        for price in product["prices"]:
            fixed = price.get("unit_amount")
            gateway.notebook_put(stripe_shape(
                "price", id=price["id"], product=product["id"], unit_amount=fixed,
                unit_amount_decimal=None if fixed is None else str(fixed), currency=price.get("currency", "usd"),
                metadata=price.get("metadata") or {}, active=price.get("active", True),
                type=price.get("type", "one_time"), recurring=None, billing_scheme="per_unit",
                custom_unit_amount=None, tiers_mode=None, transform_quantity=None))


def demo_catalogue_import(*, store_id: str, catalogue: list[dict], product_ids: list[str]) -> ImportReport:
    """Put the demo catalogue (inventory/demo.py) in the offline Stripe account, then import the
    products `product_ids` into the store. Offline only: a real account is imported as it is
    (manage.py import_stripe_catalogue)."""
    if not gateway_is_offline():
        raise CatalogueImportError("The demo catalogue is for the offline gateway (no STRIPE_SECRET_KEY); with a "
                                   "Stripe account, set a store up with `manage.py import_stripe_catalogue`.")
    offline_catalogue_put(catalogue=catalogue)
    store = inventory_selectors.store_get(store_id=store_id)
    return catalogue_import(store=store, product_ids=product_ids)
