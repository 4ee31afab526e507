"""Signal receivers: read ids, enqueue work after commit, store nothing of their own."""

from django.db import transaction
from django.dispatch import receiver
from djstripe import event_handlers
from djstripe.event_handlers import djstripe_receiver
from djstripe.models import Event
from djstripe.signals import WEBHOOK_SIGNALS

from inventory.signals import stock_changed

from . import tasks

# Event types whose objects we handle ourselves; dj-stripe's own receiver would re-fetch them from
# Stripe inside the webhook request and fail it (500) whenever Stripe is out of reach.
OWNED_EVENT_TYPES = ("checkout.session.completed",)

for _event_type in OWNED_EVENT_TYPES:
    WEBHOOK_SIGNALS[_event_type].disconnect(event_handlers.handle_other_event, sender=Event)


@djstripe_receiver("checkout.session.completed")
def checkout_session_completed(sender, event, **kwargs):
    event_id = event.id
    transaction.on_commit(lambda: tasks.checkout_session_fulfil.delay(event_id))


@receiver(stock_changed)
def stock_changed_sync_payment_link(sender, product_id: int, **kwargs):
    transaction.on_commit(lambda: tasks.payment_link_sync.delay(product_id))
