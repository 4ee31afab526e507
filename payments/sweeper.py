"""What the periodic sweeper looks for: work recorded in PostgreSQL that no worker picked up in time
(its bell was lost: Redis was down, or a worker died holding the message)."""

from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db.models import F, Q
from django.utils import timezone

from .models import IntakeEvent, LinkSync, StripeJob


@dataclass(frozen=True)
class Overdue:
    fulfilment: bool
    settlement: bool


def durable_work_overdue() -> Overdue:
    now = timezone.now()
    grace = now - timedelta(seconds=settings.DURABLE_SWEEP_GRACE_SECONDS)
    free = Q(locked_until__isnull=True) | Q(locked_until__lt=now)
    fulfilment = IntakeEvent.objects.filter(state=IntakeEvent.State.READY, received_at__lt=grace).exists()
    settlement = (StripeJob.objects.filter(free, state=StripeJob.State.PENDING, next_attempt_at__lt=grace).exists()
                  or LinkSync.objects.filter(free, wanted__gt=F("synced"), next_attempt_at__lt=grace).exists())
    return Overdue(fulfilment=fulfilment, settlement=settlement)
