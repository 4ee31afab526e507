from argparse import ArgumentTypeError
from datetime import datetime

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from payments.intake.catch_up import CatchUpRefused, stripe_catch_up
from payments.models import CatchUpRun


class Command(BaseCommand):
    help = ("Feed every event of the types the store acts on, created in a time range, that the store does not "
            "hold (its webhook never came) to intake, as the webhook would have. Times are ISO 8601; without a "
            "zone, the store's (TIME_ZONE). Example: stripe_catch_up --since 2026-11-20T10:00")

    def add_arguments(self, parser):
        parser.add_argument("--since", required=True, type=_moment, help="from (inclusive)")
        parser.add_argument("--until", type=_moment, help="to (inclusive); default now")

    def handle(self, *args, since, until, **options):
        until = until or timezone.now()
        try:
            run = stripe_catch_up(since=since, until=until, trigger=CatchUpRun.Trigger.COMMAND)
        except CatchUpRefused as refused:
            raise CommandError(str(refused)) from None
        zone = timezone.get_current_timezone()
        self.stdout.write(f"Listed events from {since.astimezone(zone):%Y-%m-%d %H:%M:%S} to "
                          f"{until.astimezone(zone):%Y-%m-%d %H:%M:%S} ({zone}).")
        self.stdout.write(f"Found {run.found}; already held {run.found - run.fed - run.refused}; "
                          f"fed {run.fed}; skipped as malformed {run.refused}.")
        for event_id in run.events.values_list("event_id", flat=True):
            self.stdout.write(f"  fed {event_id}")
        if run.error:
            raise CommandError(f"{run.error} (what was fed before that stays fed; run the command again)")


def _moment(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ArgumentTypeError(f"not an ISO 8601 time (like 2026-11-20T10:00): {text!r}") from None
    return timezone.make_aware(moment) if timezone.is_naive(moment) else moment
