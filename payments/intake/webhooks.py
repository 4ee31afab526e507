"""dj-stripe's WEBHOOK_EVENT_CALLBACK: store a verified event, offline-safe, and hand it to intake.

dj-stripe has already checked the signature when this runs, inside its own transaction. Its
default processing would call Stripe (Account.retrieve, then re-fetching the object) and answer
500 when that fails; we store the Event from the signed body instead, so taking a purchase never
depends on reaching Stripe. A new event is dispatched to the receivers (which record its work in
this same transaction); a redelivered one rings for its work again if that is still pending.
Events of types we do not own are stored and nothing more. The body has passed
payments/intake/deliveries.py before this runs, so its fields have the shapes read here.
"""

from django.db import IntegrityError, transaction
from djstripe.models import Event
from djstripe.utils import convert_tstamp

from common import metrics

from .services import OWNED_EVENT_TYPES, intake_redelivered


def store_verified_event(trigger, api_key=None) -> None:
    event, created = _event_from_body(trigger.json_body)
    trigger.event = event
    trigger.processed = True
    transaction.on_commit(metrics.WEBHOOKS_RECEIVED.labels(type=event.type, outcome=_outcome(event.type, created)).inc)
    if event.type not in OWNED_EVENT_TYPES:
        # Stored only: dj-stripe's handlers for other types (charge.*, product.created, …) re-fetch
        # from Stripe inside this request and would answer 500 whenever Stripe is out of reach.
        return
    if created:
        event.invoke_webhook_handlers()
    else:
        intake_redelivered(event=event)


def _outcome(event_type: str, created: bool) -> str:
    return "stored_only" if event_type not in OWNED_EVENT_TYPES else "new" if created else "redelivered"


def _event_from_body(data: dict) -> tuple[Event, bool]:
    request = data.get("request") if isinstance(data.get("request"), dict) else {}
    fields = {
        "livemode": bool(data.get("livemode")),
        "created": convert_tstamp(data.get("created")),
        "type": data["type"],
        "data": data["data"],
        "api_version": data.get("api_version") or "",
        "request_id": request.get("id") or "",
        "idempotency_key": request.get("idempotency_key") or "",
        "stripe_data": data,
    }
    # Insert first: a new event is the common case, and one savepoint and INSERT cost less than
    # get_or_create's look, savepoint and insert.
    try:
        with transaction.atomic():
            return Event.objects.create(id=data["id"], **fields), True
    except IntegrityError:
        # Stored before: a redelivery, or another delivery of the same id that committed first.
        return Event.objects.get(id=data["id"]), False
