"""What reconcile_stock asks of payments: stored purchase events whose work never finished.

An event without its Order (or, for a held checkout's session, its Checkout) is drift just as much as stock without its ledger row: the ledger
never heard of that sale, so the stock check alone would pass.
"""

from djstripe.models import Event

from .intake.services import PURCHASE_EVENT_TYPES
from .models import Checkout, IntakeEvent, Order

MAX_LISTED = 20


def unfinished_purchase_work(*, older_than) -> list[str]:
    """Purchase events without their Order. (Failed or waiting work of every kind, these events'
    included, is named by reconcile_stock from the work engine, common/work.py.)"""
    problems = [f"event {event_id} (checkout.session.completed) has no Order for session {session_id}"
                for event_id, session_id in _purchase_events_without_order(older_than)]
    return problems[:MAX_LISTED] + ([f"… and {len(problems) - MAX_LISTED} more"] if len(problems) > MAX_LISTED else [])


def _purchase_events_without_order(older_than) -> list[tuple[str, str]]:
    events = Event.objects.filter(type__in=PURCHASE_EVENT_TYPES, created__lt=older_than).values_list(
        "id", "data__object__id")
    ordered = set(Order.objects.values_list("checkout_session_id", flat=True))
    # A held checkout's session is accounted for by its Checkout, not an Order.
    ordered |= set(Checkout.objects.exclude(checkout_session_id="").values_list("checkout_session_id", flat=True))
    # Events whose work is failed or still waiting are named as such already.
    unfinished = set(IntakeEvent.objects.exclude(state=IntakeEvent.State.DONE).values_list("event_id", flat=True))
    return [(event_id, session_id) for event_id, session_id in events
            if session_id not in ordered and event_id not in unfinished]
