"""The periodic catch-up (beat: STRIPE_CATCH_UP_SECONDS), in a module of its own: payments/intake/catch_up.py."""

from celery import shared_task

from ..gateway import gateway_is_offline
from ..models import CatchUpRun
from .catch_up import catch_up_range_periodic, stripe_catch_up


@shared_task(ignore_result=True)
def stripe_catch_up_periodic() -> None:
    # Idempotent: two runs over the same range feed each missing event once between them.
    if gateway_is_offline():
        return  # the demo's simulator delivers every event it makes; there is no list to read
    window = catch_up_range_periodic()
    stripe_catch_up(since=window.since, until=window.until, trigger=CatchUpRun.Trigger.PERIODIC)
