"""What to do about a checkout given its PaymentIntent's state at Stripe (called from tasks).

Each step is keyed so Stripe can replay it: capture:checkout:<id>, cancel:checkout:<id>,
refund:checkout:<id>.
"""

from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from inventory.services import reservations_release_expired

from . import checkouts
from .gateway import GatewayUnavailable, get_gateway
from .models import Checkout

S = Checkout.Status


def checkout_follow_payment(*, checkout_id, event_type: str = "") -> str:
    checkout = Checkout.objects.filter(pk=checkout_id).first()
    if checkout is None:
        return "no such checkout"
    if not checkout.payment_intent_id or checkout.status in (S.PAID, S.CANCELLED, S.REFUNDED):
        return f"nothing to do ({checkout.status})"
    intent = get_gateway().payment_intent_retrieve(checkout.payment_intent_id)
    handler = {"requires_capture": _authorised, "succeeded": _captured, "canceled": _canceled,
               "requires_payment_method": _maybe_failed, "processing": _processing}.get(intent["status"])
    if intent["status"] == "requires_payment_method" and event_type == "payment_intent.payment_failed":
        intent = {**intent, "last_payment_error": intent.get("last_payment_error") or {"message": "declined"}}
    return handler(checkout, intent) if handler else f"waiting ({intent['status']})"


def _authorised(checkout: Checkout, intent: dict) -> str:
    key = f"checkout:{checkout.pk}"
    if checkout.status in checkouts.OPEN:
        # An authorisation we never acted on for days is cancelled, not captured late.
        if _auth_is_stale(checkout) or not checkouts.checkout_sell(checkout_id=checkout.pk):
            get_gateway().payment_intent_cancel(checkout.payment_intent_id, idempotency_key=f"cancel:{key}")
            checkouts.checkout_release(checkout_id=checkout.pk, status=S.CANCELLED,
                                       note="Authorisation cancelled: nothing was charged.")
            return "cancelled"
    get_gateway().payment_intent_capture(checkout.payment_intent_id, idempotency_key=f"capture:{key}")
    checkouts.checkout_mark(checkout_id=checkout.pk, status=S.PAID, note="Payment captured.")
    return "captured"


def _captured(checkout: Checkout, intent: dict) -> str:
    if checkout.status in checkouts.OPEN and not checkouts.checkout_sell(checkout_id=checkout.pk):
        refund = get_gateway().refund_create(payment_intent_id=checkout.payment_intent_id,
                                             idempotency_key=f"refund:checkout:{checkout.pk}",
                                             metadata={"checkout": str(checkout.pk), "reason": "sold_out"})
        checkouts.checkout_mark(checkout_id=checkout.pk, status=S.REFUNDED, refund_id=refund["id"],
                                note=f"Captured elsewhere after the stock went: refunded {refund['id']}.")
        return "refunded"
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


def _processing(checkout: Checkout, intent: dict) -> str:
    raise GatewayUnavailable("PaymentIntent still processing; look again later.")


def _auth_is_stale(checkout: Checkout) -> bool:
    return timezone.now() - checkout.created_at > timedelta(hours=settings.AUTHORISATION_SWEEP_AFTER_HOURS)


def holds_release_expired() -> list[str]:
    refs = reservations_release_expired()
    checkouts.checkouts_expire_held(hold_refs=refs)
    return refs


def checkouts_needing_attention() -> list:
    """Sold but not yet captured, or open with an authorisation about to lapse."""
    stale = timezone.now() - timedelta(hours=settings.AUTHORISATION_SWEEP_AFTER_HOURS)
    sold = Checkout.objects.filter(status=S.AUTHORISED, updated_at__lt=timezone.now() - timedelta(minutes=2))
    lapsing = Checkout.objects.filter(status__in=checkouts.OPEN, created_at__lt=stale).exclude(payment_intent_id="")
    return list(sold.values_list("pk", flat=True)) + list(lapsing.values_list("pk", flat=True))
