from django.core.management.base import BaseCommand, CommandError

from inventory.selectors import stock_drift


class Command(BaseCommand):
    help = "Check every product's stock against its ledger; exit non-zero naming any that drifted."

    def handle(self, *args, **options):
        drifted = stock_drift()
        if drifted:
            names = "; ".join(
                f"{d['product']} (stock {d['inventory']}, ledger sum {d['ledger_total']}, "
                f"last balance {d['last_balance']})" for d in drifted
            )
            raise CommandError(f"Stock differs from the ledger for {len(drifted)} product(s): {names}")
        self.stdout.write(self.style.SUCCESS("Stock matches the ledger for every product."))
