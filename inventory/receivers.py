from django.db import transaction
from django.dispatch import receiver

from .alerts import low_stock_alert_check
from .signals import low_stock_alert_opened, stock_changed, stock_moved
from .tasks import low_stock_alert_ring, waitlist_notify_task
from .waitlist import waitlist_has_waiting


@receiver(stock_changed)
def stock_changed_tell_waitlist(sender, product_id: int, **kwargs):
    if waitlist_has_waiting(product_id=product_id):
        transaction.on_commit(lambda: waitlist_notify_task.delay(product_id))


@receiver(stock_moved)
def stock_moved_check_low_stock(sender, product_id: int, **kwargs):
    """In the stock change's transaction: the alert row commits with the change that caused it."""
    low_stock_alert_check(product_id=product_id)


@receiver(low_stock_alert_opened)
def low_stock_alert_opened_ring(sender, alert_id: int, **kwargs):
    low_stock_alert_ring(alert_id=alert_id)
