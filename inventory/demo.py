"""The demo swag catalogue. Its products and prices live in the demo's own Stripe account (offline:
the offline gateway's notebook) and reach the booths through the same Stripe import a real booth
uses (payments/catalogue); each variant then gets its Payment Link from the offline gateway, whose
URL is the store's own offline pay page. Only the stock is the demo's own, as at a real booth.
"""

from django.conf import settings
from django.db import transaction
from django.templatetags.static import static

from .models import Product, QrMode, Store
from .services import stock_increase
from .signals import demo_catalogue_wanted

# Hall A sells through Payment Links, Hall B holds stock first (README, "Two ways to sell at the booth").
STORES = [("store_DEMO01", "Swag booth — Hall A", QrMode.PAYMENT_LINK),
          ("store_DEMO02", "Swag booth — Hall B", QrMode.HELD_CHECKOUT)]

# The demo's Stripe account: products (a picture shipped in static/demo/) and their prices, sizes in
# the prices' metadata and a colour every price shares in the product's (README, "Set up from Stripe").
STRIPE_PRODUCTS = [
    ("prod_DemoTee", "Conference T-shirt", "Soft organic cotton tee with this year's logo.", "demo/tee.svg",
     {"colour": "navy"}, [("price_DemoTeeS", 2500, "S"), ("price_DemoTeeM", 2500, "M"), ("price_DemoTeeL", 2500, "L"),
                          ("price_DemoTeeXL", 2500, "XL")]),
    ("prod_DemoHoodie", "Zip hoodie", "Warm zip hoodie for cold conference halls.", "demo/hoodie.svg",
     {"colour": "charcoal"}, [("price_DemoHoodieM", 5500, "M"), ("price_DemoHoodieL", 5500, "L"),
                              ("price_DemoHoodieXL", 5900, "XL")]),
    ("prod_DemoStickers", "Sticker pack", "Eight die-cut vinyl stickers.", "demo/stickers.svg", {},
     [("price_DemoStickers", 500, "")]),
    ("prod_DemoMug", "Enamel mug", "Camp-style enamel mug.", "demo/mug.svg", {"colour": "white"},
     [("price_DemoMug", 1800, "")]),
    ("prod_DemoTote", "Tote bag", "Heavy canvas tote.", "demo/tote.svg", {"colour": "natural"},
     [("price_DemoTote", 1500, "")]),
    ("prod_DemoCap", "Baseball cap", "Six-panel cap, embroidered.", "demo/cap.svg", {"colour": "black"},
     [("price_DemoCap", 2000, "")]),
    ("prod_DemoPin", "Enamel pin", "Hard enamel pin, one left: the second buyer is told before paying.",
     "demo/pin.svg", {"colour": "gold"}, [("price_DemoPin", 800, "")]),
]

# What each booth stocks, by product and size ("" for a product without sizes): the tee's M has one
# left in Hall A, to sell out while the other sizes stay on sale.
STOCK = {
    "store_DEMO01": {"prod_DemoTee": {"S": 4, "M": 1, "L": 6, "XL": 2}, "prod_DemoHoodie": {"M": 3, "L": 2, "XL": 1},
                     "prod_DemoStickers": {"": 40}, "prod_DemoMug": {"": 3}, "prod_DemoTote": {"": 1}},
    "store_DEMO02": {"prod_DemoTee": {"S": 3, "M": 4, "L": 1}, "prod_DemoCap": {"": 6}, "prod_DemoPin": {"": 1}},
}
# What staff add at the booth: low-stock threshold, tags and details Stripe does not know.
DETAILS = {
    "prod_DemoTee": (2, ["apparel", "organic"], {"supplier": "Stanley/Stella"}),
    "prod_DemoHoodie": (1, ["apparel"], {"supplier": "Continental"}),
    "prod_DemoStickers": (10, ["stickers"], {"pieces": 8, "supplier": "Sticker Mule"}),
    "prod_DemoMug": (2, ["kitchen"], {"volume": "350 ml"}),
    "prod_DemoTote": (1, ["bags", "organic"], {"supplier": "Earth Positive"}),
    "prod_DemoCap": (2, ["apparel"], {"supplier": "Flexfit"}),
    "prod_DemoPin": (1, ["pins"], {}),
}


def demo_stripe_catalogue() -> list[dict]:
    """The demo account's products as plain data (payments puts them in Stripe's shapes)."""
    return [{"id": pid, "name": name, "description": description, "images": [settings.SITE_URL + static(image)],
             "metadata": metadata,
             "prices": [{"id": price_id, "unit_amount": amount, "currency": "usd",
                         "metadata": {"size": size} if size else {}} for price_id, amount, size in prices]}
            for pid, name, description, image, metadata, prices in STRIPE_PRODUCTS]


def demo_catalogue_seed() -> tuple[int, int]:
    """Open the booths, import their products from the demo's Stripe account, stock them. Safe to
    run again: the import changes nothing the second time, and each stock row's ledger source
    makes it a no-op. Returns (variants created, variants already there)."""
    before = Product.objects.filter(store_id__in=[s for s, _, _ in STORES]).count()
    with transaction.atomic():
        for store_id, name, qr_mode in STORES:
            Store.objects.get_or_create(pk=store_id, defaults={"name": name, "qr_mode": qr_mode})
    catalogue = demo_stripe_catalogue()
    for store_id, _, _ in STORES:
        # payments fills the offline Stripe account and runs the import (inventory never imports payments).
        demo_catalogue_wanted.send(sender=demo_catalogue_seed, store_id=store_id, catalogue=catalogue,
                                   product_ids=list(STOCK[store_id]))
    with transaction.atomic():
        for store_id, products in STOCK.items():
            for product_id, sizes in products.items():
                _stock(store_id, product_id, sizes)
    after = Product.objects.filter(store_id__in=[s for s, _, _ in STORES]).count()
    return after - before, before


def _stock(store_id: str, product_id: str, sizes: dict[str, int]) -> None:
    threshold, tags, details = DETAILS[product_id]
    for product in Product.objects.filter(store_id=store_id, stripe_product_id=product_id):
        extra = {**product.attributes, **details}
        if (product.low_stock_threshold, product.tags, product.attributes) != (threshold, tags, extra):
            Product.objects.filter(pk=product.pk).update(low_stock_threshold=threshold, tags=tags, attributes=extra)
        stock = sizes.get(product.size, 0)
        if stock:
            # The ledger source makes this a no-op when the demo was seeded before.
            stock_increase(product=product, quantity=stock, source=f"seed_demo:{product.pk}", reason="initial")
