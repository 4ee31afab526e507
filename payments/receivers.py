"""Signal receivers: read ids, enqueue work after commit, store nothing of their own."""

import uuid

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
OWNED_EVENT_TYPES = (
    "checkout.session.completed",
    "payment_intent.amount_capturable_updated",
    "payment_intent.succeeded",
    "payment_intent.payment_failed",
    "payment_intent.canceled",
)

for _event_type in OWNED_EVENT_TYPES:
    WEBHOOK_SIGNALS[_event_type].disconnect(event_handlers.handle_other_event, sender=Event)


@djstripe_receiver("checkout.session.completed")
def checkout_session_completed(sender, event, **kwargs):
    event_id = event.id
    transaction.on_commit(lambda: tasks.checkout_session_fulfil.delay(event_id))


@receiver(stock_changed)
def stock_changed_sync_payment_link(sender, product_id: int, **kwargs):
    transaction.on_commit(lambda: tasks.payment_link_sync.delay(product_id))


@djstripe_receiver([
    "payment_intent.amount_capturable_updated",
    "payment_intent.succeeded",
    "payment_intent.payment_failed",
    "payment_intent.canceled",
])
def payment_intent_changed(sender, event, **kwargs):
    """Our checkouts' PaymentIntents carry their checkout id; Payment Link ones are left alone."""
    checkout_id = ((event.data.get("object") or {}).get("metadata") or {}).get("checkout")
    event_type = event.type
    if checkout_id and _is_uuid(checkout_id):
        transaction.on_commit(lambda: tasks.checkout_reconcile.delay(checkout_id, event_type))


def _is_uuid(value) -> bool:
    try:
        uuid.UUID(str(value))
    except ValueError:
        return False
    return True
