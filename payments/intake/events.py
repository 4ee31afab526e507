"""A verified Stripe event kept: dj-stripe's Event row and our intake row, in one transaction.

dj-stripe stays the record of every Stripe event (its public Event model, written here from the
signed body, never by dj-stripe's own processing, which would call Stripe inside the request).
The webhook view and catch-up both come through here, so an event fed twice, by either or both,
is stored and recorded once: each INSERT is ON CONFLICT DO NOTHING on the event's id.
"""

from django.db import transaction
from djstripe.models import Event
from djstripe.utils import convert_tstamp

from .services import intake_record


def stripe_event_store(*, data: dict) -> Event:
    """Store the event (already checked: payments/intake/deliveries.py) and record its work.

    Locks: nothing beyond the two inserts. Triggers (after commit): intake_record's bell, for types
    we own; a second call for the same event inserts nothing.
    """
    event = _event_from(data)
    with transaction.atomic():
        Event.objects.bulk_create([event], ignore_conflicts=True)
        intake_record(event=event)
    return event


def _event_from(data: dict) -> Event:
    request = data.get("request")
    request = request if isinstance(request, dict) else {"id": request}
    return Event(id=data["id"], livemode=data["livemode"], created=convert_tstamp(data["created"]),
                 type=data["type"], data=data["data"], api_version=data.get("api_version") or "",
                 request_id=request.get("id") or "", idempotency_key=request.get("idempotency_key") or "",
                 stripe_data=data)
