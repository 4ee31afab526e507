"""Settlement: capture, cancel or refund, for Orders (Payment Link sessions) and our Checkouts alike.

A job says what must happen; the PaymentIntent's state at Stripe says how. When the event already
told us whether the money was captured (`job.captured`), we act without reading the intent first
and read it only when Stripe answers that the intent is not in the state we thought. Stripe keys:
capture:<ref>, cancel:<ref>, refund:<ref>, where ref is the session id or checkout:<id>.
"""

from ..gateway import GatewayRejected, GatewayUnavailable, get_gateway
from ..models import StripeJob
from .outcomes import payment_captured, payment_given_back, payment_problem

UNEXPECTED_STATE = "payment_intent_unexpected_state"


def payment_capture(*, job: StripeJob) -> None:
    """Capture an authorisation whose stock we hold; an intent captured already is recorded as such."""
    gateway, ref = get_gateway(), job_ref(job)
    status = None if job.captured is None else ("succeeded" if job.captured else "requires_capture")
    if status is None:
        status = gateway.payment_intent_retrieve(job.payment_intent_id)["status"]
    if status == "requires_capture":
        try:
            gateway.payment_intent_capture(job.payment_intent_id, idempotency_key=f"capture:{ref}")
            return payment_captured(job=job, note=f"Payment captured ({gateway.mode}).")
        except GatewayRejected as exc:
            if exc.code != UNEXPECTED_STATE:
                raise
            status = gateway.payment_intent_retrieve(job.payment_intent_id)["status"]
    if status == "succeeded":
        return payment_captured(job=job, note="")
    if status == "processing":
        raise GatewayUnavailable("PaymentIntent still processing; look again later.")
    payment_problem(job=job, note=f"PaymentIntent is {status}, not capturable: staff to check.")


def payment_give_back(*, job: StripeJob) -> None:
    """Cancel the authorisation if the money was never captured (no fee), else refund it, once."""
    gateway, ref = get_gateway(), job_ref(job)
    status = None if job.captured is None else ("succeeded" if job.captured else "requires_capture")
    if status is None:
        status = gateway.payment_intent_retrieve(job.payment_intent_id)["status"]
    if status not in ("succeeded", "canceled", "processing"):
        try:
            gateway.payment_intent_cancel(job.payment_intent_id, idempotency_key=f"cancel:{ref}")
            return payment_given_back(job=job, cancelled=True, refund_id="",
                                      note=f"Authorisation cancelled before capture, no fee ({gateway.mode}).")
        except GatewayRejected as exc:
            if exc.code != UNEXPECTED_STATE:
                raise
            status = gateway.payment_intent_retrieve(job.payment_intent_id)["status"]
    if status == "canceled":
        return payment_given_back(job=job, cancelled=True, refund_id="", note="Authorisation was already cancelled.")
    if status == "processing":
        raise GatewayUnavailable("PaymentIntent still processing; refund once it settles.")
    if status != "succeeded":
        raise GatewayUnavailable(f"PaymentIntent is {status}; give back once it settles.")
    _refund(job, ref)


def _refund(job: StripeJob, ref: str) -> None:
    gateway = get_gateway()
    try:
        refund = gateway.refund_create(payment_intent_id=job.payment_intent_id, idempotency_key=f"refund:{ref}",
                                       metadata={**_refund_metadata(job), "reason": "sold_out"})
    except GatewayRejected as exc:
        if exc.code != "charge_already_refunded":
            return _refund_refused(job, exc)
        refund = {"id": "already-refunded"}
    payment_given_back(job=job, cancelled=False, refund_id=refund["id"],
                       note=f"Refunded {refund['id']} ({gateway.mode}).")


def _refund_refused(job: StripeJob, exc: GatewayRejected) -> None:
    """The event said captured, but Stripe cannot refund: if the intent is only authorised after
    all, cancel it instead (a job that retries, so the cancel's own failures are handled there)."""
    if get_gateway().payment_intent_retrieve(job.payment_intent_id)["status"] != "requires_capture":
        raise exc
    job.captured = False
    payment_give_back(job=job)


def job_ref(job: StripeJob) -> str:
    return job.order.checkout_session_id if job.order_id else f"checkout:{job.checkout_id}"


def _refund_metadata(job: StripeJob) -> dict:
    return {"checkout_session": job.order.checkout_session_id} if job.order_id else {"checkout": str(job.checkout_id)}
