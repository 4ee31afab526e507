from celery import shared_task

from .waitlist import waitlist_notify


@shared_task(acks_late=True, autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def waitlist_notify_task(product_id: int) -> int:
    """Idempotent: each entry is claimed before it is mailed."""
    return waitlist_notify(product_id=product_id)
