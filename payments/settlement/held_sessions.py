"""Expiring a held checkout's session at Stripe: the EXPIRE_SESSION job (the hold lapsed) and the
buyer leaving Stripe's page. Stripe refuses to expire a session that is no longer open; the session
is then read, and its state decides the checkout (payments/fulfilment/held.py), so a buyer who paid
meanwhile gets the sale, never a release under a paying buyer."""

from django.db import transaction

from ..fulfilment.held import LEAVE_KEY_PREFIX, held_checkout_follow_session
from ..gateway import GatewayRejected, get_gateway
from ..models import Checkout, StripeJob
from .outcomes import job_finish


def session_expire_run(*, job: StripeJob) -> None:
    """The EXPIRE_SESSION job: the hold lapsed, or the buyer left Stripe's page."""
    checkout = Checkout.objects.get(pk=job.checkout_id)
    session = _expire_at_stripe(checkout)
    with transaction.atomic():
        held_checkout_follow_session(checkout_id=checkout.pk, session=session,
                                     left=job.key.startswith(LEAVE_KEY_PREFIX))
        job_finish(job=job, state=StripeJob.State.DONE)


def _expire_at_stripe(checkout: Checkout) -> dict:
    gateway = get_gateway()
    try:
        return gateway.checkout_session_expire(checkout.checkout_session_id,
                                               idempotency_key=f"expire:checkout:{checkout.pk}")
    except GatewayRejected:
        # Not open any more: paid (the hold becomes the sale) or expired already.
        return gateway.checkout_session_retrieve(checkout.checkout_session_id)

