"""What Stripe confirmed, written to the Order or Checkout together with the job's end (one
transaction), so a job is never done without its outcome or the outcome kept without the job done."""

from django.db import transaction
from django.utils import timezone

from common.work import work_quarantine

from ..checkout.services import checkout_mark
from ..work.kinds import STRIPE_JOB
from ..models import Checkout, Order, StripeJob

FINAL_ORDER_STATUSES = {Order.Status.REFUNDED, Order.Status.CANCELLED, Order.Status.IGNORED}


def payment_captured(*, job: StripeJob, note: str) -> None:
    with transaction.atomic():
        if job.order_id:
            order = _order(job)
            order.capture = Order.Capture.CAPTURED
            _note(order, note)
            order.save(update_fields=["capture", "resolution", "updated_at"])
        else:
            checkout_mark(checkout_id=job.checkout_id, status=Checkout.Status.PAID, note=note or "Payment captured.")
        job_finish(job=job, state=StripeJob.State.DONE)


def payment_given_back(*, job: StripeJob, cancelled: bool, refund_id: str, note: str) -> None:
    status = Order.Status.CANCELLED if cancelled else Order.Status.REFUNDED
    with transaction.atomic():
        if job.order_id:
            order = _order(job)
            if order.status not in FINAL_ORDER_STATUSES:
                order.status, order.refund_id = status, refund_id
                _note(order, note)
                order.save(update_fields=["status", "refund_id", "resolution", "updated_at"])
        else:
            checkout_mark(checkout_id=job.checkout_id, status=Checkout.Status.CANCELLED if cancelled
                          else Checkout.Status.REFUNDED, note=note, refund_id=refund_id)
        job_finish(job=job, state=StripeJob.State.DONE)


def payment_problem(*, job: StripeJob, note: str) -> None:
    """Stripe refused, or the intent is in a state no job can fix: leave it visible for staff."""
    with transaction.atomic():
        if job.order_id:
            order = _order(job)
            _note(order, note)
            order.save(update_fields=["resolution", "updated_at"])
        elif job.checkout_id:
            checkout = Checkout.objects.select_for_update().get(pk=job.checkout_id)
            checkout_mark(checkout_id=checkout.pk, status=checkout.status, note=note)
        work_quarantine(STRIPE_JOB, pks=[job.pk], reason=note)


def job_finish(*, job: StripeJob, state: str, error: str = "") -> None:
    StripeJob.objects.filter(pk=job.pk).update(state=state, done_at=timezone.now(), locked_until=None,
                                               last_error=error[:500])


def _order(job: StripeJob) -> Order:
    return Order.objects.select_for_update().get(pk=job.order_id)


def _note(order: Order, note: str) -> None:
    if note:
        order.resolution = f"{order.resolution} {note}".strip()
