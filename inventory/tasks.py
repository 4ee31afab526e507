from celery import shared_task

from .alerts import AlertNotSent, low_stock_alert_ring, low_stock_alert_send, low_stock_alerts_due
from .waitlist import waitlist_notify


@shared_task(acks_late=True, autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def waitlist_notify_task(product_id: int) -> int:
    """Idempotent: an entry is marked once its mail went out, and a retry mails only those still waiting."""
    return waitlist_notify(product_id=product_id)


@shared_task(acks_late=True, autoretry_for=(AlertNotSent,), retry_backoff=True, max_retries=5)
def low_stock_alert_send_task(alert_id: int) -> int:
    """Idempotent: each channel is marked sent once it went out, and a retry sends only the others."""
    return low_stock_alert_send(alert_id=alert_id)


@shared_task(ignore_result=True)
def low_stock_alerts_sweep() -> str:
    """Periodic (beat): ring again for alerts whose bell was lost or whose retry wait is over."""
    due = low_stock_alerts_due()
    for alert_id in due:
        low_stock_alert_ring(alert_id=alert_id)
    return f"rang for {len(due)} low-stock alert(s)"
