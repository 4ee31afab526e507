from django.db import transaction
from django.dispatch import receiver

from common.ringing import ring
from common.work import work_bell_register, work_failed

from .alerts import low_stock_alert_check
from .notify import work_failure_notice_record
from .signals import HoldFacts, low_stock_alert_opened, stock_changed, stock_moved
from .tasks import notify_ring, notify_wake, waitlist_notify_task
from .waitlist import waitlist_has_waiting


@receiver(stock_changed)
def stock_changed_tell_waitlist(sender, product_id: int, hold: HoldFacts | None = None, **kwargs):
    if hold is not None:
        return  # a new hold only takes units: nobody waiting can be served by it
    if waitlist_has_waiting(product_id=product_id):
        transaction.on_commit(lambda: waitlist_notify_task.delay(product_id))


@receiver(stock_moved)
def stock_moved_check_low_stock(sender, product_id: int, hold: HoldFacts | None = None, **kwargs):
    """In the stock change's transaction: the alert row commits with the change that caused it."""
    if hold is None:
        low_stock_alert_check(product_id=product_id)
    elif hold.available <= hold.low_stock_threshold:
        low_stock_alert_check(product_id=product_id, known=(max(hold.available, 0), hold.low_stock_threshold))
    # else: availability fell and is still above the threshold, so it was above before too: the
    # last check left the alerts as they must be, and nothing can open now.


@receiver(low_stock_alert_opened)
def low_stock_alert_opened_ring(sender, alert_id: int, **kwargs):
    notify_ring()


@receiver(work_failed)
def work_failed_tell_staff(sender, kind: str, pk, reason: str, **kwargs):
    """In the transaction that set the work aside: the notice rows commit with it, then the bell."""
    if work_failure_notice_record(kind=kind, pk=pk, reason=reason):
        transaction.on_commit(notify_ring)


# The sweep's bell for the notify queue (common/work.py).
work_bell_register("notify", lambda: ring(notify_wake))
