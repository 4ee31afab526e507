from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from common import words
from inventory.models import Store
from inventory.stock_csv import stock_csv_export


class Command(BaseCommand):
    help = "Export stock and store-side product fields as CSV (the format stock_import reads)."

    def add_arguments(self, parser):
        parser.add_argument("--store", action="append", default=[], help="Only this booth (repeatable).")
        parser.add_argument("--output", "-o", help="Write to this file instead of standard output.")

    def handle(self, *args, store, output, **options):
        if unknown := sorted(set(store) - set(Store.objects.filter(pk__in=store).values_list("pk", flat=True))):
            raise CommandError(f"stock_export: no booth {', '.join(unknown)}.")
        text = stock_csv_export(store_ids=store or None)
        if not output:
            self.stdout.write(text, ending="")
            return
        try:
            Path(output).write_text(text, encoding="utf-8")
        except OSError as exc:
            raise CommandError(f"stock_export: cannot write {output}: {exc.strerror or exc}") from None
        self.stdout.write(self.style.SUCCESS(f"{words.rows(text.count(chr(10)) - 1)} written to {output}."))
