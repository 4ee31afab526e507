"""What reconcile_stock asks of payments: stored purchase events whose work never finished.

An event without its Order (or, for a held checkout's session, its Checkout) is drift just as much as stock without its ledger row: the ledger
never heard of that sale, so the stock check alone would pass.
"""

from djstripe.models import Event

from .intake.services import PURCHASE_EVENT_TYPES
from .models import Checkout, IntakeEvent, Order, StripeJob

MAX_LISTED = 20


def unfinished_purchase_work(*, older_than) -> list[str]:
    problems = [f"event {i.event_id} ({i.event_type}) not applied: {i.get_state_display().lower()}"
                + (f" ({i.last_error})" if i.last_error else "")
                for i in IntakeEvent.objects.exclude(state=IntakeEvent.State.DONE).filter(received_at__lt=older_than)]
    problems += [f"Stripe job {j.key} {j.get_state_display().lower()}{': ' + j.last_error if j.last_error else ''}"
                 for j in StripeJob.objects.exclude(state=StripeJob.State.DONE).filter(created_at__lt=older_than)]
    problems += [f"event {event_id} (checkout.session.completed) has no Order for session {session_id}"
                 for event_id, session_id in _purchase_events_without_order(older_than)]
    return problems[:MAX_LISTED] + ([f"… and {len(problems) - MAX_LISTED} more"] if len(problems) > MAX_LISTED else [])


def _purchase_events_without_order(older_than) -> list[tuple[str, str]]:
    events = Event.objects.filter(type__in=PURCHASE_EVENT_TYPES, created__lt=older_than).values_list(
        "id", "data__object__id")
    ordered = set(Order.objects.values_list("checkout_session_id", flat=True))
    # A held checkout's session is accounted for by its Checkout, not an Order.
    ordered |= set(Checkout.objects.exclude(checkout_session_id="").values_list("checkout_session_id", flat=True))
    return [(event_id, session_id) for event_id, session_id in events if session_id not in ordered]
