from datetime import timedelta

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from common import words
from common.work import KINDS, work_problem_lines
from inventory.selectors import stock_drift
from inventory.signals import reconcile_requested


class Command(BaseCommand):
    help = ("Check every product's stock against its ledger, that every stored purchase was applied, and "
            "that no work failed or waits; exit non-zero naming anything that drifted, failed or never finished.")

    def add_arguments(self, parser):
        parser.add_argument("--grace-seconds", type=float, default=0.0,
                            help="Ignore work recorded less than this long ago (still in flight).")

    def handle(self, *args, grace_seconds, **options):
        if grace_seconds < 0:
            raise CommandError(f"--grace-seconds must be ≥ 0, not {grace_seconds}.")
        problems = []
        if drifted := stock_drift():
            problems.append(f"Stock differs from the ledger for {words.products(len(drifted))}: "
                            + "; ".join(_drift_line(d) for d in drifted))
        older_than = timezone.now() - timedelta(seconds=grace_seconds)
        if work := _work_problems(grace_seconds):
            problems.append(f"{words.pieces_of_work(len(work))} failed or not finished: " + "; ".join(work))
        unfinished = [line for _, found in reconcile_requested.send(sender=Command, older_than=older_than)
                      for line in found]
        if unfinished:
            problems.append(f"{words.purchases(len(unfinished))} stored but never applied: " + "; ".join(unfinished))
        if problems:
            raise CommandError(" ".join(problems))
        self.stdout.write(self.style.SUCCESS("Stock matches the ledger for every product, "
                                             "and every stored purchase was applied."))


def _work_problems(grace_seconds: float) -> list[str]:
    """Failed work of every kind; waiting sales and payments older than the grace (drift, like stock
    without its ledger row); waiting link syncs and alerts only once stuck (WORK_STUCK_SECONDS)."""
    money = [kind for kind in KINDS.values() if kind.money]
    rest = [kind for kind in KINDS.values() if not kind.money]
    return (work_problem_lines(stuck_after=timedelta(seconds=grace_seconds), kinds=money)
            + work_problem_lines(stuck_after=timedelta(seconds=max(grace_seconds, settings.WORK_STUCK_SECONDS)),
                                 kinds=rest))


def _drift_line(d: dict) -> str:
    return f"{d['product']} (stock {d['inventory']}, ledger sum {d['ledger_total']}, last balance {d['last_balance']})"
