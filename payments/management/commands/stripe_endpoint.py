from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from payments.endpoints import webhook_endpoint_configure, webhook_endpoint_path


class Command(BaseCommand):
    help = (
        "Create or update the dj-stripe webhook endpoint row from STRIPE_WEBHOOK_SECRET and print the URL "
        "to give `stripe listen --forward-to`."
    )

    def add_arguments(self, parser):
        parser.add_argument("--site-url", default=settings.SITE_URL, help="Public base URL (default: SITE_URL).")

    def handle(self, *args, site_url, **options):
        secret = settings.STRIPE_WEBHOOK_SECRET
        if not secret:
            raise CommandError("STRIPE_WEBHOOK_SECRET is not set: export the whsec_… secret first.")
        if not secret.startswith("whsec_"):
            raise CommandError("STRIPE_WEBHOOK_SECRET must start with whsec_ (Stripe's webhook signing secret).")
        endpoint, created = webhook_endpoint_configure(secret=secret, site_url=site_url.rstrip("/"))
        path = webhook_endpoint_path(endpoint)
        self.stdout.write(f"{'Created' if created else 'Updated'} webhook endpoint {endpoint.id}.")
        self.stdout.write(f"Webhook URL: {site_url.rstrip('/')}{path}")
        self.stdout.write(f"Forward Stripe events: stripe listen --forward-to {site_url.rstrip('/')}{path}")
