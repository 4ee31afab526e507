"""The settlement worker loop: claim due Stripe work from PostgreSQL, do it, record what happened.

A claim is a lease: SELECT … FOR UPDATE SKIP LOCKED picks due rows no one holds, and `locked_until`
(set in the same short transaction) keeps them ours while we talk to Stripe outside any
transaction. A worker that dies lets its lease lapse and another takes the row again; the job's
key makes Stripe replay, not repeat, what was already done. Failures Stripe calls temporary are
retried with exponential backoff (Stripe's Retry-After wins) up to STRIPE_MAX_ATTEMPTS tries;
refusals, and jobs out of tries, are set aside for staff (common/work.py).
"""

import logging
import time

from django.conf import settings
from django.db import InterfaceError, OperationalError, transaction
from django.db.models import Q
from django.db.models.functions import Coalesce, Greatest
from django.utils import timezone

from common.work import WorkKind, work_claim, work_quarantine, work_try_failed
from common.work import retry_delay as backoff

from ..work.bells import ring_settlement_on_commit
from ..gateway import GatewayRejected, GatewayUnavailable
from ..work.kinds import INTAKE, LINK_SYNC, STRIPE_JOB
from ..models import StripeJob
from .follow import checkout_follow_run, line_items_fetch
from .held_sessions import session_expire_run
from .links import link_sync_run
from .money import payment_capture, payment_give_back
from .outcomes import payment_problem

log = logging.getLogger(__name__)
CLAIM_BATCH = 10


def settlement_drain(*, seconds: float) -> int:
    """Run due jobs and link syncs until none is due or `seconds` have passed; returns how many ran."""
    deadline, ran = time.monotonic() + seconds, 0
    while time.monotonic() < deadline:
        jobs = work_claim(STRIPE_JOB, limit=CLAIM_BATCH, lease_seconds=_lease_seconds())
        syncs = work_claim(LINK_SYNC, limit=CLAIM_BATCH, lease_seconds=_lease_seconds())
        if not jobs and not syncs:
            break
        for job in jobs:
            _run(STRIPE_JOB, job, _job_handler(job))
        for sync in syncs:
            _run(LINK_SYNC, sync, lambda s=sync: link_sync_run(sync=s))
        ran += len(jobs) + len(syncs)
    return ran


def stripe_job_run_now(*, key: str) -> bool:
    """Claim the pending job with this key as a worker would (SKIP LOCKED, then a lease) and run it
    here, now; False when another worker holds it or it is no longer pending (it then runs there)."""
    jobs = work_claim(STRIPE_JOB, limit=1, lease_seconds=_lease_seconds(), where=Q(key=key))
    for job in jobs:
        _run(STRIPE_JOB, job, _job_handler(job))
    return bool(jobs)


def settlement_next_due_in() -> float | None:
    """Seconds until a pending job or sync can next be claimed (0: now); None if none waits."""
    when = Greatest("next_attempt_at", Coalesce("locked_until", "next_attempt_at"))
    nexts = [kind.model.objects.filter(kind.waiting, failed_at__isnull=True).annotate(when=when)
             .order_by("when").values_list("when", flat=True).first() for kind in (STRIPE_JOB, LINK_SYNC)]
    nexts = [n for n in nexts if n is not None]
    return max((min(nexts) - timezone.now()).total_seconds(), 0.0) if nexts else None


def _lease_seconds() -> float:
    # Long enough for the slowest job: a read and a write at Stripe, each up to the client timeout.
    return 2 * settings.STRIPE_TIMEOUT_SECONDS + 10


HANDLERS = {StripeJob.Action.CAPTURE: payment_capture, StripeJob.Action.GIVE_BACK: payment_give_back,
            StripeJob.Action.FOLLOW: checkout_follow_run, StripeJob.Action.LINE_ITEMS: line_items_fetch,
            StripeJob.Action.EXPIRE_SESSION: session_expire_run}


def _job_handler(job: StripeJob):
    return lambda: HANDLERS[job.action](job=job)


def _run(kind: WorkKind, row, work) -> None:
    try:
        work()
    except GatewayUnavailable as exc:
        _retry_later(kind, row, str(exc), retry_after=exc.retry_after)
    except GatewayRejected as exc:
        _refused(kind, row, exc)
    except (OperationalError, InterfaceError) as exc:  # our database, for a moment
        _retry_later(kind, row, f"{type(exc).__name__}: {exc}", retry_after=None)
    except Exception as exc:  # a job that cannot run as recorded: set aside, the others go on
        work_quarantine(kind, pks=[row.pk], reason=f"{type(exc).__name__}: {exc}")


def _retry_later(kind: WorkKind, row, error: str, *, retry_after: float | None) -> None:
    delay = retry_delay(attempts=row.attempts, retry_after=retry_after)
    log.warning("%s: Stripe unavailable (%s); attempt %s, next in %.1f s", row, error, row.attempts, delay)
    with transaction.atomic():
        if work_try_failed(kind, row, error=error, delay=delay) is not None:
            ring_settlement_on_commit(countdown=delay)


def retry_delay(*, attempts: int, retry_after: float | None) -> float:
    """Exponential backoff with full jitter, capped; Stripe's Retry-After is a floor. After
    STRIPE_RETRY_FAST_ATTEMPTS tries the job waits the cap each time, until STRIPE_MAX_ATTEMPTS."""
    base, cap = settings.STRIPE_RETRY_BASE_SECONDS, settings.STRIPE_RETRY_MAX_SECONDS
    if attempts >= settings.STRIPE_RETRY_FAST_ATTEMPTS:
        return max(cap, retry_after or 0.0)
    return backoff(attempts=attempts, base=base, cap=cap, floor=retry_after or 0.0)


def _refused(kind: WorkKind, row, exc: GatewayRejected) -> None:
    if isinstance(row, StripeJob):
        if row.action == StripeJob.Action.LINE_ITEMS:
            work_quarantine(INTAKE, pks=[row.intake_id], reason=f"Stripe refused its line items: {exc}")
        payment_problem(job=row, note=f"Stripe refused: {exc}")
        return
    work_quarantine(kind, pks=[row.pk], reason=f"Stripe refused: {exc}")
