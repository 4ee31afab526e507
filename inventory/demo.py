"""The demo swag catalogue. Offline, each product also gets a Payment Link in the offline notebook,
whose URL is the store's own offline pay page (no Stripe account needed)."""

from django.conf import settings
from django.db import transaction
from django.urls import reverse

from .models import Product, QrMode, Store
from .services import stock_increase
from .signals import demo_product_seeded

# Hall A sells through Payment Links, Hall B holds stock first (README, "Two ways to sell at the booth").
STORES = [("store_DEMO01", "Swag booth — Hall A", QrMode.PAYMENT_LINK),
          ("store_DEMO02", "Swag booth — Hall B", QrMode.HELD_CHECKOUT)]

CATALOGUE = [
    # store, stripe product, name, price (cents), stock, threshold, attributes, tags, description
    ("store_DEMO01", "prod_DemoTee", "Conference T-shirt", 2500, 12, 3,
     {"size": "M", "colour": "navy", "supplier": "Stanley/Stella"}, ["apparel", "organic"],
     "Soft organic cotton tee with this year's logo."),
    ("store_DEMO01", "prod_DemoHoodie", "Zip hoodie", 5500, 5, 2,
     {"size": "L", "colour": "charcoal", "supplier": "Continental"}, ["apparel"],
     "Warm zip hoodie for cold conference halls."),
    ("store_DEMO01", "prod_DemoStickers", "Sticker pack", 500, 40, 10,
     {"pieces": 8, "supplier": "Sticker Mule"}, ["stickers"], "Eight die-cut vinyl stickers."),
    ("store_DEMO01", "prod_DemoMug", "Enamel mug", 1800, 3, 2,
     {"colour": "white", "volume": "350 ml"}, ["kitchen"], "Camp-style enamel mug."),
    ("store_DEMO01", "prod_DemoTote", "Tote bag", 1500, 1, 1,
     {"colour": "natural", "supplier": "Earth Positive"}, ["bags", "organic"], "Heavy canvas tote."),
    ("store_DEMO02", "prod_DemoTee", "Conference T-shirt", 2500, 8, 3,
     {"size": "S", "colour": "navy", "supplier": "Stanley/Stella"}, ["apparel", "organic"],
     "Soft organic cotton tee with this year's logo."),
    ("store_DEMO02", "prod_DemoCap", "Baseball cap", 2000, 6, 2,
     {"colour": "black", "supplier": "Flexfit"}, ["apparel"], "Six-panel cap, embroidered."),
    ("store_DEMO02", "prod_DemoPin", "Enamel pin", 800, 1, 1,
     {"colour": "gold"}, ["pins"], "Hard enamel pin, one left: the second buyer is told before paying."),
]


def demo_catalogue_seed() -> tuple[int, int]:
    created = existing = 0
    with transaction.atomic():
        for store_id, name, qr_mode in STORES:
            Store.objects.get_or_create(pk=store_id, defaults={"name": name, "qr_mode": qr_mode})
        for row in CATALOGUE:
            product, is_new = _product(*row)
            created, existing = created + is_new, existing + (not is_new)
    return created, existing


def _product(store_id, stripe_id, name, price, stock, threshold, attributes, tags, description):
    link_id = f"plink_demo_{store_id[-2:]}_{stripe_id.removeprefix('prod_Demo').lower()}"
    product, is_new = Product.objects.get_or_create(
        store_id=store_id, stripe_product_id=stripe_id,
        defaults={"name": name, "description": description, "unit_amount": price, "currency": "usd",
                  "long_description": f"{description} Sold at the booth while stock lasts.",
                  "stripe_price_id": f"price_demo_{store_id[-2:]}_{stripe_id[9:].lower()}",
                  "attributes": attributes, "tags": tags, "low_stock_threshold": threshold,
                  "payment_link_id": link_id, "payment_link_url": _offline_pay_url(link_id)},
    )
    # The ledger source makes this a no-op when the demo was seeded before.
    stock_increase(product=product, quantity=stock, source=f"seed_demo:{product.pk}", reason="initial")
    demo_product_seeded.send(sender=demo_catalogue_seed, product=product)
    return product, is_new


def _offline_pay_url(link_id: str) -> str:
    return settings.SITE_URL + reverse("payments:offline_pay", kwargs={"payment_link_id": link_id})
