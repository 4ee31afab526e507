"""Celery tasks of the notify queue (CELERY_TASK_ROUTES): mails and chat posts, never a sale."""

from celery import shared_task
from django.conf import settings

from common.ringing import bell_heard, bell_not_yet_rung, ring

from .notify import notify_drain
from .waitlist import waitlist_notify


@shared_task(acks_late=True, autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def waitlist_notify_task(product_id: int) -> int:
    """Idempotent: an entry is marked once its mail went out, and a retry mails only those still waiting."""
    return waitlist_notify(product_id=product_id)


@shared_task(ignore_result=True)
def notify_wake() -> str:
    """Send the due alert deliveries and staff notices (inventory/notify.py); failures stay recorded
    on their rows for their next try, or for staff."""
    bell_heard("notify")
    sent, failed = notify_drain(seconds=settings.DRAIN_SECONDS)
    return f"sent {sent}, {len(failed)} failed"


def notify_ring() -> None:
    """Wake a notify worker (one bell in flight); the rows are committed already, so a broker
    outage only delays them until the sweep rings."""
    if bell_not_yet_rung("notify"):
        ring(notify_wake)
