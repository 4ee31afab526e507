import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from inventory.stock_csv import CsvImportRefused, stock_csv_import


class Command(BaseCommand):
    help = ("Import stock and store-side product fields from a CSV file (format: README, 'CSV format'). "
            "The whole file is checked first; on any bad row nothing changes and the command exits non-zero.")

    def add_arguments(self, parser):
        parser.add_argument("path", help="The CSV file ('-' for standard input).")
        parser.add_argument("--dry-run", action="store_true", help="Check the file against the stock, change nothing.")

    def handle(self, *args, path, dry_run, **options):
        try:
            content = self.stdin_bytes() if path == "-" else Path(path).read_bytes()
        except OSError as exc:
            raise CommandError(f"stock_import: cannot read {path}: {exc.strerror or exc}") from None
        name = "stdin" if path == "-" else Path(path).name
        try:
            result = stock_csv_import(content=content, filename=name, dry_run=dry_run)
        except CsvImportRefused as refused:
            raise CommandError(f"stock_import: {name} not imported, nothing changed: {refused}") from None
        prefix = "Dry run, nothing changed: " if dry_run and not result.already_imported else ""
        self.stdout.write(self.style.SUCCESS(f"{name}: {prefix}{result.summary()}"))

    def stdin_bytes(self) -> bytes:
        return sys.stdin.buffer.read()
