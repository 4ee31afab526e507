"""Catch-up: sales whose webhook never came, found in Stripe's event list and fed to the same intake.

Stripe retries a failed delivery for three days, then gives up; an endpoint that is disabled, or
still checking the old secret after a rotation, answers 400 to every event. Stripe's own advice
("Process undelivered webhook events") is to list events: we list the types we act on, in a time
range, page by page (each page one call in the shared rate budget), and feed every event we do not
hold through payments/intake/events.py, exactly as its webhook would have been. Feeding is
idempotent on the event id, so a webhook arriving later too changes nothing.
"""

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from djstripe.models import Event

from ..gateway import GatewayError, gateway_is_offline, get_gateway
from ..models import CatchUpRun, CaughtUpEvent
from .deliveries import event_shape_refusal
from .events import stripe_event_store
from .services import OWNED_EVENT_TYPES

log = logging.getLogger(__name__)

STRIPE_KEEPS_EVENTS = timedelta(days=30)


class CatchUpRefused(Exception):
    """The range cannot be listed (one sentence, for the command's error line)."""


@dataclass(frozen=True)
class CatchUpRange:
    since: datetime
    until: datetime


def catch_up_range_periodic(*, now: datetime | None = None) -> CatchUpRange:
    """From the newest event of ours we hold, less an overlap, up to a little before now.

    The overlap covers an event whose webhook failed while later ones arrived; stopping short of now
    leaves webhooks in flight to arrive by themselves (feeding them too would be harmless).
    """
    now = now or timezone.now()
    newest = Event.objects.filter(type__in=OWNED_EVENT_TYPES).order_by("-created").values_list("created", flat=True)
    held = newest.first()
    since = (held - timedelta(minutes=settings.STRIPE_CATCH_UP_OVERLAP_MINUTES) if held
             else now - timedelta(hours=settings.STRIPE_CATCH_UP_FIRST_HOURS))
    until = now - timedelta(seconds=settings.STRIPE_CATCH_UP_GRACE_SECONDS)
    return CatchUpRange(since=max(since, now - STRIPE_KEEPS_EVENTS), until=until)


def stripe_catch_up(*, since: datetime, until: datetime, trigger: str) -> CatchUpRun:
    """List our types of events created in [since, until] and feed those we do not hold to intake.

    Locks: nothing beyond the inserts of each fed event (one transaction per event). Triggers: the
    intake's fulfilment bell after each fed event's commit. Raises CatchUpRefused for a range Stripe
    cannot list; a Stripe failure midway is kept in the run's `error` (the next run tries again).
    """
    _check_range(since, until)
    run = CatchUpRun.objects.create(trigger=trigger, since=since, until=until)
    try:
        listed = get_gateway().event_list(types=OWNED_EVENT_TYPES, created_gte=int(since.timestamp()),
                                          created_lte=int(until.timestamp()))
    except GatewayError as exc:
        run.error = f"Could not list events at Stripe: {exc}"[:500]
        log.warning("catch-up %s: %s", run.pk, run.error)
    else:
        _feed_missing(run, listed)
    run.finished_at = timezone.now()
    run.save()
    return run


def _check_range(since: datetime, until: datetime) -> None:
    if since >= until:
        raise CatchUpRefused(f"--since ({since:%Y-%m-%d %H:%M}) must be before --until ({until:%Y-%m-%d %H:%M}).")
    if since < timezone.now() - STRIPE_KEEPS_EVENTS:
        raise CatchUpRefused("Stripe keeps events for 30 days: choose a --since within them.")
    if gateway_is_offline():
        raise CatchUpRefused("Stripe is offline here (no STRIPE_SECRET_KEY): there is no event list to catch up from.")


def _feed_missing(run: CatchUpRun, listed: list[dict]) -> None:
    ours = [e for e in listed if isinstance(e, dict) and e.get("type") in OWNED_EVENT_TYPES]
    held = set(Event.objects.filter(id__in=[e.get("id") for e in ours]).values_list("id", flat=True))
    run.found = len(ours)
    # Oldest first, as their webhooks would have come (intake decides sales by event time anyway).
    for data in sorted((e for e in ours if e.get("id") not in held), key=lambda e: (e.get("created") or 0, e["id"])):
        if refusal := event_shape_refusal(data):
            run.refused += 1
            log.warning("catch-up %s: skipped %s: %s", run.pk, data.get("id"), refusal)
            continue
        with transaction.atomic():
            event = stripe_event_store(data=data)
            CaughtUpEvent.objects.bulk_create([CaughtUpEvent(event_id=event.id, run=run)], ignore_conflicts=True)
        run.fed += 1
        run.newest_fed_created = max(filter(None, (run.newest_fed_created, event.created)))
