"""Intake: a verified event we act on becomes a row of pending work in the webhook's transaction.

The webhook then answers 2xx whether or not a worker hears about it: the row is the record, the
bell after commit only saves a worker from waiting for the sweeper.
"""

from djstripe.models import Event

from common.work import work_quarantine

from ..work.bells import ring_fulfilment_on_commit
from ..work.kinds import INTAKE
from ..models import IntakeEvent
from .schemas import event_object_refusal

PURCHASE_EVENT_TYPES = ("checkout.session.completed",)
# A held checkout's session ending unpaid: its units go back on sale (payments/fulfilment/held.py).
SESSION_END_EVENT_TYPES = ("checkout.session.expired",)
SESSION_EVENT_TYPES = PURCHASE_EVENT_TYPES + SESSION_END_EVENT_TYPES
PAYMENT_EVENT_TYPES = (
    "payment_intent.amount_capturable_updated",
    "payment_intent.succeeded",
    "payment_intent.payment_failed",
    "payment_intent.canceled",
)
# Names, pictures and prices kept in step with Stripe (payments/catalogue/events.py).
CATALOGUE_EVENT_TYPES = ("product.updated", "price.updated")
OWNED_EVENT_TYPES = SESSION_EVENT_TYPES + PAYMENT_EVENT_TYPES + CATALOGUE_EVENT_TYPES


def intake_record(*, event: Event) -> IntakeEvent | None:
    """Record the work a stored event needs; a second call for the same event changes nothing.

    An event whose object is not shaped as we read it (payments/intake/schemas.py) is stored
    `failed` with its reason and never reaches a fulfilment batch.
    Locks: nothing beyond the insert. Triggers (after commit): the fulfilment bell, or staff notices.
    """
    if event.type not in OWNED_EVENT_TYPES:
        return None
    kind = (IntakeEvent.Kind.PURCHASE if event.type in SESSION_EVENT_TYPES
            else IntakeEvent.Kind.CATALOGUE if event.type in CATALOGUE_EVENT_TYPES else IntakeEvent.Kind.PAYMENT)
    refusal = event_object_refusal(event_type=event.type, data=event.data)
    obj = event.data.get("object") if isinstance(event.data, dict) else None
    object_id = obj.get("id") if isinstance(obj, dict) else None
    intake = IntakeEvent(event_id=event.id, event_type=event.type, kind=kind, event_created=event.created,
                         object_id=object_id if isinstance(object_id, str) else "", next_attempt_at=event.created)
    # One INSERT … ON CONFLICT DO NOTHING: no savepoint, and a second call is a no-op.
    IntakeEvent.objects.bulk_create([intake], ignore_conflicts=True)
    if refusal is None:
        ring_fulfilment_on_commit()
    else:  # stored, never batched: set aside for staff with the field at fault (once)
        waiting = IntakeEvent.objects.filter(event_id=event.id, state=IntakeEvent.State.READY)
        work_quarantine(INTAKE, pks=list(waiting.values_list("pk", flat=True)), reason=f"not applied: {refusal}")
    return intake

