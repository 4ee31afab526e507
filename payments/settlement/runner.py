"""The settlement worker loop: claim due Stripe work from PostgreSQL, do it, record what happened.

A claim is a lease: SELECT … FOR UPDATE SKIP LOCKED picks due rows no one holds, and `locked_until`
(set in the same short transaction) keeps them ours while we talk to Stripe outside any
transaction. A worker that dies lets its lease lapse and another takes the row again; the job's
key makes Stripe replay, not repeat, what was already done. Failures Stripe calls temporary are
retried with exponential backoff (Stripe's Retry-After wins); refusals stop the job for staff.
"""

import logging
import random
import time
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.db.models.functions import Coalesce, Greatest
from django.utils import timezone

from ..bells import ring_settlement_on_commit
from ..fulfilment.follow import checkout_follow_run, line_items_fetch
from ..fulfilment.held import session_expire_run
from ..gateway import GatewayRejected, GatewayUnavailable
from ..models import IntakeEvent, LinkSync, StripeJob
from .links import link_sync_run
from .money import payment_capture, payment_give_back
from .outcomes import payment_problem

log = logging.getLogger(__name__)
CLAIM_BATCH = 10


def settlement_drain(*, seconds: float) -> int:
    """Run due jobs and link syncs until none is due or `seconds` have passed; returns how many ran."""
    deadline, ran = time.monotonic() + seconds, 0
    while time.monotonic() < deadline:
        jobs, syncs = _claim(StripeJob, Q(state=StripeJob.State.PENDING)), _claim(LinkSync, Q(wanted__gt=F("synced")))
        if not jobs and not syncs:
            break
        for job in jobs:
            _run(job, _job_handler(job))
        for sync in syncs:
            _run(sync, lambda s=sync: link_sync_run(sync=s))
        ran += len(jobs) + len(syncs)
    return ran


def stripe_job_run_now(*, key: str) -> bool:
    """Claim the pending job with this key as a worker would (SKIP LOCKED, then a lease) and run it
    here, now; False when another worker holds it or it is no longer pending (it then runs there)."""
    jobs = _claim(StripeJob, Q(state=StripeJob.State.PENDING, key=key))
    for job in jobs:
        _run(job, _job_handler(job))
    return bool(jobs)


def settlement_next_due_in() -> float | None:
    """Seconds until a pending job or sync can next be claimed (0: now); None if none waits."""
    when = Greatest("next_attempt_at", Coalesce("locked_until", "next_attempt_at"))
    nexts = [StripeJob.objects.filter(state=StripeJob.State.PENDING).annotate(when=when)
             .order_by("when").values_list("when", flat=True).first(),
             LinkSync.objects.filter(wanted__gt=F("synced")).annotate(when=when)
             .order_by("when").values_list("when", flat=True).first()]
    nexts = [n for n in nexts if n is not None]
    return max((min(nexts) - timezone.now()).total_seconds(), 0.0) if nexts else None


def _claim(model, pending: Q) -> list:
    now = timezone.now()
    free = Q(locked_until__isnull=True) | Q(locked_until__lt=now)
    with transaction.atomic():
        ids = list(model.objects.select_for_update(skip_locked=True).filter(pending, free, next_attempt_at__lte=now)
                   .order_by("next_attempt_at").values_list("pk", flat=True)[:CLAIM_BATCH])
        model.objects.filter(pk__in=ids).update(locked_until=now + timedelta(seconds=_lease_seconds()),
                                                attempts=F("attempts") + 1)
    return list(model.objects.filter(pk__in=ids).order_by("next_attempt_at"))


def _lease_seconds() -> float:
    # Long enough for the slowest job: a read and a write at Stripe, each up to the client timeout.
    return 2 * settings.STRIPE_TIMEOUT_SECONDS + 10


HANDLERS = {StripeJob.Action.CAPTURE: payment_capture, StripeJob.Action.GIVE_BACK: payment_give_back,
            StripeJob.Action.FOLLOW: checkout_follow_run, StripeJob.Action.LINE_ITEMS: line_items_fetch,
            StripeJob.Action.EXPIRE_SESSION: session_expire_run}


def _job_handler(job: StripeJob):
    return lambda: HANDLERS[job.action](job=job)


def _run(row, work) -> None:
    try:
        work()
    except GatewayUnavailable as exc:
        _retry_later(row, exc)
    except GatewayRejected as exc:
        _refused(row, exc)


def _retry_later(row, exc: GatewayUnavailable) -> None:
    delay = retry_delay(attempts=row.attempts, retry_after=exc.retry_after)
    log.warning("%s: Stripe unavailable (%s); attempt %s, next in %.1f s", row, exc, row.attempts, delay)
    with transaction.atomic():
        type(row).objects.filter(pk=row.pk).update(next_attempt_at=timezone.now() + timedelta(seconds=delay),
                                                   locked_until=None, last_error=str(exc)[:500])
        ring_settlement_on_commit(countdown=delay)


def retry_delay(*, attempts: int, retry_after: float | None) -> float:
    """Exponential backoff with full jitter, capped; Stripe's Retry-After is a floor. After
    STRIPE_RETRY_FAST_ATTEMPTS tries the job waits the cap each time, but it is never dropped."""
    base, cap = settings.STRIPE_RETRY_BASE_SECONDS, settings.STRIPE_RETRY_MAX_SECONDS
    if attempts >= settings.STRIPE_RETRY_FAST_ATTEMPTS:
        delay = cap
    else:
        delay = min(cap, base * 2 ** max(attempts - 1, 0)) * random.uniform(0.5, 1.0)
    return max(delay, retry_after or 0.0)


def _refused(row, exc: GatewayRejected) -> None:
    log.error("%s: Stripe refused (%s)", row, exc)
    if isinstance(row, StripeJob):
        if row.action == StripeJob.Action.LINE_ITEMS:
            IntakeEvent.objects.filter(pk=row.intake_id).update(state=IntakeEvent.State.FAILED,
                                                                last_error=str(exc)[:500])
        payment_problem(job=row, note=f"Stripe refused: {exc}")
        return
    # A link Stripe refuses to change: keep trying at the slowest pace, staff see last_error.
    LinkSync.objects.filter(pk=row.pk).update(
        next_attempt_at=timezone.now() + timedelta(seconds=settings.STRIPE_RETRY_MAX_SECONDS),
        locked_until=None, last_error=f"refused: {exc}"[:500])

