from celery import shared_task

from .waitlist import waitlist_notify


@shared_task(acks_late=True, autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def waitlist_notify_task(product_id: int) -> int:
    """Idempotent: an entry is marked once its mail went out, and a retry mails only those still waiting."""
    return waitlist_notify(product_id=product_id)
