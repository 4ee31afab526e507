"""How events reach the store: the last webhook, the last catch-up, and whether webhooks stopped."""

from dataclasses import dataclass
from datetime import datetime

from djstripe.models import Event

from ..models import CatchUpRun, CaughtUpEvent


@dataclass(frozen=True)
class IntakeHealth:
    last_webhook_at: datetime | None
    last_catch_up: CatchUpRun | None
    # Catch-up fed events that Stripe created after the last webhook arrived: the endpoint is broken.
    webhooks_stopped: bool
    stopped_since: datetime | None


def intake_health() -> IntakeHealth:
    last_webhook_at = (Event.objects.exclude(id__in=CaughtUpEvent.objects.values("event_id"))
                       .order_by("-djstripe_id").values_list("djstripe_created", flat=True).first())
    last_catch_up = CatchUpRun.objects.filter(finished_at__isnull=False).first()
    last_fed = CatchUpRun.objects.filter(fed__gt=0, newest_fed_created__isnull=False).first()
    stopped = last_fed is not None and (last_webhook_at is None or last_webhook_at < last_fed.newest_fed_created)
    return IntakeHealth(last_webhook_at=last_webhook_at, last_catch_up=last_catch_up, webhooks_stopped=stopped,
                        stopped_since=last_fed.newest_fed_created if stopped else None)

