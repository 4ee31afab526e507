from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from inventory.models import Product
from inventory.variants import variant_sort_key
from payments.endpoints import webhook_endpoint_local, webhook_endpoint_path
from payments.gateway import gateway_is_offline
from payments.models import Order
from payments.offline.simulator import checkout_session_completed, delivery_post

MAX_QUANTITY = 1000


class Command(BaseCommand):
    help = ("Post a signed, real-shaped checkout.session.completed for PRODUCT to the running server, "
            "like `stripe trigger` (offline gateway only).")

    def add_arguments(self, parser):
        parser.add_argument("product", help="Stripe product id (prod_…) of a stocked product.")
        parser.add_argument("--store", help="Store id, when the product is stocked in several stores.")
        parser.add_argument("--size", help="Which size, when the product comes in several (e.g. M).")
        parser.add_argument("--colour", help="Which colour, when the product comes in several.")
        parser.add_argument("--price", help="Which variant, by its Stripe price id (instead of --size/--colour).")
        parser.add_argument("--quantity", type=int, default=1)
        parser.add_argument("--capture", choices=["manual", "automatic"], default="manual",
                            help="manual: the payment is only authorised until we hold the stock (default).")
        parser.add_argument("--site-url", default=settings.SITE_URL, help="Where the server runs (SITE_URL).")

    def handle(self, *args, product, store, size, colour, price, quantity, capture, site_url, **options):
        if not 1 <= quantity <= MAX_QUANTITY:
            raise CommandError(f"--quantity must be between 1 and {MAX_QUANTITY}, not {quantity}.")
        if not gateway_is_offline():
            raise CommandError("simulate_purchase needs the offline gateway (no STRIPE_SECRET_KEY); with Stripe "
                               "keys use `stripe trigger checkout.session.completed` or a test-mode purchase.")
        endpoint = webhook_endpoint_local()
        if endpoint is None or not endpoint.secret:
            raise CommandError("No webhook endpoint yet: run `manage.py stripe_endpoint` first.")
        target = self._product(product, store, size=size or "", colour=colour or "", price=price or "")
        delivery = checkout_session_completed(product=target, quantity=quantity, capture_method=capture,
                                              secret=endpoint.secret)
        url = site_url.rstrip("/") + webhook_endpoint_path(endpoint)
        try:
            status, body = delivery_post(delivery, url=url)
        except OSError as exc:
            raise CommandError(f"Could not reach the server at {url}: {exc}. Is it running?")
        if status != 200:
            raise CommandError(f"The webhook answered {status}: {body[:200]}")
        self.stdout.write(f"Delivered {delivery.event_id} for {quantity} × {target.display_name} ({delivery.session_id}).")
        self.stdout.write(self._outcome(delivery.session_id))

    def _product(self, stripe_product_id: str, store_id: str | None, *, size: str, colour: str,
                 price: str) -> Product:
        candidates = Product.objects.filter(stripe_product_id=stripe_product_id)
        if store_id:
            candidates = candidates.filter(store_id=store_id)
        found = list(candidates.select_related("store")[:100])
        if not found:
            known = ", ".join(Product.objects.values_list("stripe_product_id", flat=True).distinct()[:20])
            raise CommandError(f"No product {stripe_product_id!r}{' in ' + store_id if store_id else ''}. "
                               f"Known: {known or 'none (run seed_demo)'}.")
        stores = sorted({p.store_id for p in found})
        if len(stores) > 1:
            raise CommandError(f"{stripe_product_id} is stocked in several stores ({', '.join(stores)}): pass --store.")
        chosen = [p for p in found if (not price or p.stripe_price_id == price)
                  and (not size or p.size.casefold() == size.casefold())
                  and (not colour or p.colour.casefold() == colour.casefold())]
        if len(chosen) != 1:
            variants = ", ".join(f"{p.variant_label} ({p.stripe_price_id})" for p in sorted(found, key=variant_sort_key))
            asked = " ".join(f"--{k} {v}" for k, v in (("size", size), ("colour", colour), ("price", price)) if v)
            raise CommandError(f"{found[0].name} in {stores[0]} comes in {variants}: "
                               + (f"none matches {asked}." if asked and not chosen else
                                  "pass --size (and --colour), or --price."))
        return chosen[0]

    @staticmethod
    def _outcome(session_id: str) -> str:
        order = Order.objects.filter(checkout_session_id=session_id).first()
        if order is None:
            return "Queued: a worker will fulfil it."
        return f"Order {order.get_status_display()}: {order.resolution}"
