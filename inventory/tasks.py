import logging

from celery import shared_task
from kombu.exceptions import OperationalError as BrokerError
from redis import RedisError

from .alerts import AlertNotSent, low_stock_alert_send, low_stock_alerts_due
from .waitlist import waitlist_notify

log = logging.getLogger(__name__)


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


def low_stock_alert_ring(*, alert_id: int) -> None:
    """Publish the bell; the alert is committed already, so a broker outage only delays it."""
    try:
        low_stock_alert_send_task.delay(alert_id)
    except (BrokerError, RedisError, OSError) as exc:
        log.warning("could not ring for low-stock alert %s (%s): the sweeper will send it", alert_id, exc)
