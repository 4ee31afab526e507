"""Held checkouts: what their Checkout Session's state means for the held units, and expiring it.

One rule, whoever learns the state (a checkout.session.* event in a fulfilment batch, the
settlement job that expires a lapsed session, the buyer leaving Stripe's page):
- complete: the held units become the sale (they are still reserved, so the stock cannot be gone),
  then capture (manual) or nothing more (already paid);
- expired: the units go back on sale;
- open: nothing yet; Stripe may still take the payment, so the units stay held.

Expiring a session (the hold lapsed, or the buyer left Stripe's page) is a settlement job that
asks Stripe first: Stripe refuses to expire a session that is no longer open, and then the session
is read, so if the buyer paid in the meantime the hold becomes the sale (never released under a
paying buyer).
"""

import uuid

from django.db import transaction
from django.utils import timezone

from common.ids import uuid_or_none

from ..checkout.services import checkout_release
from ..gateway import GatewayError, GatewayRejected, get_gateway
from ..models import Checkout, StripeJob
from ..settlement.outcomes import job_finish
from ..settlement.records import stripe_job_record
from .checkouts import checkout_follow_intent

S = Checkout.Status


def held_checkout_follow_session(*, checkout_id, session: dict, left: bool = False) -> str:
    """Decide a held checkout from its session as Stripe last described it (idempotent). `left`: the
    session was expired because the buyer left Stripe's page, not because the hold lapsed.

    Locks: the checkout row, then its products (through checkout_follow_intent).
    """
    with transaction.atomic():
        checkout = Checkout.objects.select_for_update().filter(pk=checkout_id).first()
        if checkout is None or checkout.checkout_session_id != session.get("id"):
            return "not a held checkout's session"
        status = session.get("status")
        if status == "complete":
            return _completed(checkout, session)
        if status == "expired" and checkout.status == S.RESERVED:
            if left:
                checkout_release(checkout_id=checkout.pk, status=S.LEFT,
                                 note="The buyer left the payment page; the items are back on sale.")
            else:
                checkout_release(checkout_id=checkout.pk, status=S.EXPIRED,
                                 note="The payment page closed before payment; the items are back on sale.")
            return "released"
        return f"nothing to do ({status}, {checkout.status})"


def _completed(checkout: Checkout, session: dict) -> str:
    intent_id = session.get("payment_intent") or ""
    if isinstance(intent_id, dict):  # expanded
        intent_id = intent_id.get("id", "")
    if not intent_id:
        return "complete without a PaymentIntent: nothing to capture"
    if not checkout.payment_intent_id:
        checkout.payment_intent_id = intent_id
        checkout.save(update_fields=["payment_intent_id", "updated_at"])
    # paid: the funds are in; unpaid: only authorised (manual capture), to capture once sold.
    intent_status = "succeeded" if session.get("payment_status") == "paid" else "requires_capture"
    return checkout_follow_intent(checkout_id=checkout.pk, intent={"id": intent_id, "status": intent_status})


def held_checkouts_for_sessions(sessions: list[dict]) -> dict[str, uuid.UUID]:
    """Session id → checkout id, for the sessions that are held checkouts of ours (one query)."""
    named = {s.get("id"): (s.get("metadata") or {}).get("checkout") for s in sessions}
    ids = [c for c in map(uuid_or_none, named.values()) if c]
    known = dict(Checkout.objects.filter(pk__in=ids).exclude(checkout_session_id="")
                 .values_list("checkout_session_id", "pk"))
    return {sid: known[sid] for sid in named if sid in known and str(known[sid]) == named[sid]}


def held_sessions_lapsed_record() -> int:
    """Record an EXPIRE_SESSION job for each held checkout whose hold lapsed while its session is open."""
    lapsed = list(Checkout.objects.filter(status=S.RESERVED, expires_at__lte=timezone.now())
                  .exclude(checkout_session_id="").only("pk"))
    with transaction.atomic():
        for checkout in lapsed:
            held_session_expiry_record(checkout=checkout)
    return len(lapsed)


LEAVE_KEY_PREFIX = "leave_session:"


def held_session_expiry_record(*, checkout: Checkout, left: bool = False) -> str:
    """Record (once) the job that expires the checkout's session at Stripe; returns its key. The key
    says why (the hold lapsed, or the buyer left), so the checkout ends with the right reason."""
    key = f"{LEAVE_KEY_PREFIX if left else 'expire_session:'}checkout:{checkout.pk}"
    stripe_job_record(action=StripeJob.Action.EXPIRE_SESSION, key=key, checkout=checkout)
    return key


def session_expire_run(*, job: StripeJob) -> None:
    """The EXPIRE_SESSION job: the hold lapsed, or the buyer left Stripe's page."""
    checkout = Checkout.objects.get(pk=job.checkout_id)
    session = _expire_at_stripe(checkout)
    with transaction.atomic():
        held_checkout_follow_session(checkout_id=checkout.pk, session=session,
                                     left=job.key.startswith(LEAVE_KEY_PREFIX))
        job_finish(job=job, state=StripeJob.State.DONE)


def held_checkout_leave(*, checkout_id) -> bool:
    """The buyer left Stripe's page (its cancel URL): expire the session and release the units now.

    Returns False when Stripe could not be reached; the recorded job then finishes the work.
    """
    checkout = Checkout.objects.filter(pk=checkout_id).exclude(checkout_session_id="").first()
    if checkout is None or checkout.status != Checkout.Status.RESERVED:
        return True
    with transaction.atomic():
        key = held_session_expiry_record(checkout=checkout, left=True)
    job = StripeJob.objects.get(key=key)
    if job.state != StripeJob.State.PENDING:
        return True
    try:
        session_expire_run(job=job)
    except GatewayError:
        return False  # the recorded job stays pending: the settlement worker retries it, or shows staff why not
    return True


def _expire_at_stripe(checkout: Checkout) -> dict:
    gateway = get_gateway()
    try:
        return gateway.checkout_session_expire(checkout.checkout_session_id,
                                               idempotency_key=f"expire:checkout:{checkout.pk}")
    except GatewayRejected:
        # Not open any more: paid (the hold becomes the sale) or expired already.
        return gateway.checkout_session_retrieve(checkout.checkout_session_id)

