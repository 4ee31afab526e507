"""Our checkouts: what a checkout becomes given its PaymentIntent's state at Stripe.

Run by the FOLLOW job (which reads the intent) after each payment_intent.* event and by the sweeper,
whatever order events arrive in. The decision (sell the held units, release them) and the Stripe
job that captures or gives the money back commit together; settlement carries the job out.
"""

from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from inventory.services import reservations_release_expired

from ..checkout import services as checkouts
from ..gateway import GatewayUnavailable
from ..models import Checkout, StripeJob
from ..work.records import stripe_job_record

S = Checkout.Status


def checkout_follow_intent(*, checkout_id, intent: dict, event_type: str = "") -> str:
    """Decide the checkout from its intent; records the capture or give-back job it needs.

    Locks: the checkout row, then its products (through checkout_sell). Raises GatewayUnavailable
    while the intent is still processing (the job tries again later).
    """
    checkout = Checkout.objects.filter(pk=checkout_id).first()
    if checkout is None:
        return "no such checkout"
    if not checkout.payment_intent_id or checkout.status in (S.PAID, S.CANCELLED, S.REFUNDED):
        return f"nothing to do ({checkout.status})"
    status = intent["status"]
    if status == "processing":
        raise GatewayUnavailable("PaymentIntent still processing; look again later.")
    handler = {"requires_capture": _authorised, "succeeded": _captured, "canceled": _canceled,
               "requires_payment_method": _maybe_failed}.get(status)
    if status == "requires_payment_method" and event_type == "payment_intent.payment_failed":
        # Stripe told us the attempt failed; the intent may not say why.
        intent = {**intent, "last_payment_error": intent.get("last_payment_error") or {"message": "declined"}}
    if handler is None:
        return f"waiting ({status})"
    with transaction.atomic():
        return handler(checkout, intent)


def _authorised(checkout: Checkout, intent: dict) -> str:
    if checkout.status in checkouts.OPEN:
        # An authorisation we never acted on for days is cancelled, not captured late.
        if _auth_is_stale(checkout) or not checkouts.checkout_sell(checkout_id=checkout.pk):
            checkouts.checkout_release(checkout_id=checkout.pk, status=S.CANCELLED,
                                       note="Cancelling the authorisation: nothing is charged.")
            _job(checkout, StripeJob.Action.GIVE_BACK, captured=False)
            return "cancelling"
    _job(checkout, StripeJob.Action.CAPTURE, captured=False)
    return "capturing"


def _captured(checkout: Checkout, intent: dict) -> str:
    if checkout.status in checkouts.OPEN and not checkouts.checkout_sell(checkout_id=checkout.pk):
        checkouts.checkout_mark(checkout_id=checkout.pk, status=S.REFUNDED,
                                note="Captured elsewhere after the stock went: refunding.")
        _job(checkout, StripeJob.Action.GIVE_BACK, captured=True)
        return "refunding"
    checkouts.checkout_mark(checkout_id=checkout.pk, status=S.PAID, note="Payment captured.")
    return "paid"


def _canceled(checkout: Checkout, intent: dict) -> str:
    if checkout.status == S.AUTHORISED:
        checkouts.checkout_return_stock(checkout_id=checkout.pk, note="Authorisation cancelled after the sale.")
        return "stock returned"
    checkouts.checkout_release(checkout_id=checkout.pk, status=S.CANCELLED, note="Payment cancelled.")
    return "released"


def _maybe_failed(checkout: Checkout, intent: dict) -> str:
    if not intent.get("last_payment_error") or checkout.status not in checkouts.OPEN:
        return "waiting for payment"
    message = (intent["last_payment_error"] or {}).get("message") or "declined"
    checkouts.checkout_release(checkout_id=checkout.pk, status=S.FAILED, note=f"Payment failed: {message}")
    return "failed"


def _job(checkout: Checkout, action: str, *, captured: bool) -> None:
    stripe_job_record(action=action, key=f"{action}:checkout:{checkout.pk}", checkout=checkout,
                      payment_intent_id=checkout.payment_intent_id, captured=captured)


def _auth_is_stale(checkout: Checkout) -> bool:
    return timezone.now() - checkout.created_at > timedelta(hours=settings.AUTHORISATION_SWEEP_AFTER_HOURS)


def holds_release_expired() -> list[str]:
    refs = reservations_release_expired()
    checkouts.checkouts_expire_held(hold_refs=refs)
    return refs


def checkouts_follow_lapsing() -> int:
    """Open checkouts whose authorisation would soon outlive its window (the event never came):
    record a FOLLOW job each, which reads the intent and cancels or captures."""
    stale = timezone.now() - timedelta(hours=settings.AUTHORISATION_SWEEP_AFTER_HOURS)
    lapsing = list(Checkout.objects.filter(status__in=checkouts.OPEN, created_at__lt=stale)
                   .exclude(payment_intent_id=""))
    with transaction.atomic():
        for checkout in lapsing:
            stripe_job_record(action=StripeJob.Action.FOLLOW, key=f"follow:checkout:{checkout.pk}:lapsing",
                              checkout=checkout)
    return len(lapsing)
