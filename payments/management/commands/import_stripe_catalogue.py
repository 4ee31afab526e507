from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from inventory.catalogue import store_open
from inventory.models import CaptureMethod, QrMode
from payments.catalogue.errors import CatalogueImportError
from payments.catalogue.imports import catalogue_import


class Command(BaseCommand):
    help = ("Set a store up from the Stripe account's catalogue: every active product and one-time price "
            "becomes the store's products and sizes (price metadata `size`, `colour`), with a Payment Link each. "
            "Creates the store if needed. Running it again changes nothing; a problem stops it before anything "
            "is written, naming the product or price.")

    def add_arguments(self, parser):
        parser.add_argument("store", help="The store's id, e.g. store_HallA (ours, not a Stripe id).")
        parser.add_argument("--name", default="", help="The store's name, when it is created now.")
        parser.add_argument("--currency", default="usd", help="What a new store sells in (default usd).")
        parser.add_argument("--qr-mode", choices=list(QrMode.values), default="",
                            help="Where a new store's QR codes lead (default: Payment Links).")
        parser.add_argument("--capture", choices=list(CaptureMethod.values), default="",
                            help="How a new store's links and checkouts take the money (default: manual).")
        parser.add_argument("--product", action="append", dest="products", default=[],
                            help="Import only this Stripe product (repeat for several); default: all active ones.")
        parser.add_argument("--stock", type=int, default=0,
                            help="Initial stock of each new size (a ledger row); existing ones keep theirs.")

    def handle(self, *args, store, name, currency, qr_mode, capture, products, stock, **options):
        try:
            target, created = store_open(store_id=store, name=name, currency=currency, qr_mode=qr_mode,
                                         capture_method=capture)
        except ValidationError as invalid:
            raise CommandError("; ".join(f"{k}: {' '.join(v)}" for k, v in invalid.message_dict.items())) from invalid
        if created:
            self.stdout.write(f"Created store {target}.")
        try:
            report = catalogue_import(store=target, product_ids=products or None, initial_stock=stock)
        except CatalogueImportError as stopped:
            raise CommandError(f"Import stopped; no product of {target.pk} was changed: {stopped}") from stopped
        for line in report.lines():
            self.stdout.write(line)
        if not report.changed:
            self.stdout.write(self.style.SUCCESS("Already in step with Stripe: nothing changed."))
