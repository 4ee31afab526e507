"""Held checkouts: what their Checkout Session's state means for the held units, and expiring it.

One rule, whoever learns the state (a checkout.session.* event in a fulfilment batch, the
settlement job that expires a lapsed session, the buyer leaving Stripe's page):
- complete: the held units become the sale (they are still reserved, so the stock cannot be gone),
  then capture (manual) or nothing more (already paid);
- expired: the units go back on sale;
- open: nothing yet; Stripe may still take the payment, so the units stay held.

Expiring a session (the hold lapsed, or the buyer left Stripe's page) is a settlement job
(payments/settlement/held_sessions.py) that asks Stripe first: Stripe refuses to expire a session that is no longer open, and then the session
is read, so if the buyer paid in the meantime the hold becomes the sale (never released under a
paying buyer).
"""

import uuid

from django.db import transaction
from django.utils import timezone

from common.ids import uuid_or_none

from ..checkout.services import checkout_release
from ..models import Checkout, StripeJob
from ..work.records import stripe_job_record
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


def held_checkout_leave_record(*, checkout_id) -> str | None:
    """The buyer left Stripe's page (its cancel URL): record (once) the job that expires the session.

    Returns the job's key, for the caller to run it at once through settlement's claim (so it runs
    once, whoever claims it first: this request or the settlement worker the bell wakes), or None
    when the checkout holds nothing any more.
    """
    checkout = Checkout.objects.filter(pk=checkout_id).exclude(checkout_session_id="").first()
    if checkout is None or checkout.status != Checkout.Status.RESERVED:
        return None
    with transaction.atomic():
        return held_session_expiry_record(checkout=checkout, left=True)
