from django.db import transaction
from django.dispatch import receiver

from .signals import stock_changed
from .tasks import waitlist_notify_task
from .waitlist import waitlist_has_waiting


@receiver(stock_changed)
def stock_changed_tell_waitlist(sender, product_id: int, **kwargs):
    if waitlist_has_waiting(product_id=product_id):
        transaction.on_commit(lambda: waitlist_notify_task.delay(product_id))
