from django.core.management.base import BaseCommand

from inventory.demo import demo_catalogue_seed


class Command(BaseCommand):
    help = "Load the demo swag catalogue (two booths). Safe to run again: nothing is added twice."

    def handle(self, *args, **options):
        created, existing = demo_catalogue_seed()
        self.stdout.write(self.style.SUCCESS(f"Demo catalogue: {created} variant(s) created (a size each, or a product without sizes), {existing} already there."))
