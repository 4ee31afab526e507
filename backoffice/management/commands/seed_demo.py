from django.core.management.base import BaseCommand

from backoffice.roles import DEMO_PASSWORD, DEMO_USERNAME, booth_staff_user_ensure
from common import words
from inventory.demo import demo_catalogue_seed
from inventory.selectors import store_list
from payments.gateway import gateway_is_offline


# Here, not in inventory: it sets up the whole demo (catalogue, staff role, offline Stripe), and only
# the back office may import every app.
class Command(BaseCommand):
    help = ("Load the demo swag catalogue (two booths) and, with Stripe offline (the demo), a booth-staff "
            "user. Safe to run again: nothing is added twice.")

    def handle(self, *args, **options):
        # First, so the demo's low-stock e-mails (the tote bag starts low) have someone to go to.
        if gateway_is_offline():
            booth_user, created = booth_staff_user_ensure()
            note = f"created, password {DEMO_PASSWORD}" if created else "already there"
            self.stdout.write(f"Demo booth-staff user {DEMO_USERNAME!r}: {note} (demo only).")
        else:
            self.stdout.write("Stripe is live: no demo booth-staff user (add staff to the 'Booth staff' group).")
        if not gateway_is_offline():
            # The demo's catalogue lives in the offline gateway's Stripe account; a real one is imported as it is.
            self.stdout.write("Stripe is live: no demo catalogue; set a booth up from your Stripe account with "
                              "`manage.py import_stripe_catalogue STORE_ID`.")
            return
        created, existing = demo_catalogue_seed()
        booth_user.booths.add(*store_list())  # the demo's volunteer works at both booths
        self.stdout.write(self.style.SUCCESS(f"Demo catalogue: {words.variants(created)} created (a size each, or a product without sizes), {existing} already there."))
