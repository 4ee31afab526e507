"""The two Stripe reads fulfilment may need, run as jobs by the settlement worker (never in a
webhook request, never while a sale waits): a session's line items when the session alone cannot
tell what was bought, and a checkout's PaymentIntent after one of its events."""

from django.db import transaction
from django.utils import timezone

from ..fulfilment.checkouts import checkout_follow_intent
from ..gateway import get_gateway
from ..models import Checkout, IntakeEvent, StripeJob
from ..work.bells import ring_fulfilment_on_commit
from .outcomes import job_finish


def line_items_fetch(*, job: StripeJob) -> None:
    """Store the session's line items on its intake event and hand it back to fulfilment."""
    intake = IntakeEvent.objects.get(pk=job.intake_id)
    # Keep what matching needs, in plain JSON (Stripe's objects carry Decimals).
    line_items = [{"id": item.get("id"), "price": {"id": (item.get("price") or {}).get("id", "")},
                   "quantity": item.get("quantity")}
                  for item in get_gateway().checkout_session_line_items(intake.object_id)]
    with transaction.atomic():
        IntakeEvent.objects.filter(pk=intake.pk, state=IntakeEvent.State.AWAITING_LINES).update(
            line_items=line_items, state=IntakeEvent.State.READY, next_attempt_at=timezone.now())
        job_finish(job=job, state=StripeJob.State.DONE)
        ring_fulfilment_on_commit()


def checkout_follow_run(*, job: StripeJob) -> None:
    """Read the checkout's PaymentIntent, then decide the checkout (and its next job) in one go."""
    checkout = Checkout.objects.get(pk=job.checkout_id)
    intent = get_gateway().payment_intent_retrieve(checkout.payment_intent_id) if checkout.payment_intent_id else None
    event_type = job.intake.event_type if job.intake_id else ""
    with transaction.atomic():
        if intent is not None:
            checkout_follow_intent(checkout_id=checkout.pk, intent=intent, event_type=event_type)
        job_finish(job=job, state=StripeJob.State.DONE)
