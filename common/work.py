"""Durable work, one engine: claim, lease, retry with backoff, quarantine, wake, and show to staff.

Work that must follow a fact (a stored Stripe event, a capture or refund, a Payment Link to bring
in step, an alert to deliver) is a row written in the fact's own transaction: PostgreSQL remembers
it, Redis only rings the bell. Each kind of work is a model with the fields of `WorkRow` and a
`WorkKind` saying which rows are waiting and which queue wakes for them. The engine, the same for
every kind (Procrastinate's worker and Oban's `discarded` jobs are the model):

- claim: SELECT … FOR UPDATE SKIP LOCKED picks due rows no one holds, and `locked_until` (set in the
  same short transaction) keeps them ours while the work runs outside any transaction; a worker that
  dies lets its lease lapse and the row is taken again. (Fulfilment holds its batch under the row
  locks instead: it never leaves PostgreSQL, so a dead worker's batch rolls back at once.)
- each try that fails records its error, and waits longer (exponential backoff with full jitter);
- quarantine: a row that cannot succeed, or failed `max_attempts` times, gets `failed_at` and its
  reason, and the rest of the work goes on; staff get one notice per newly failed row (the
  `work_failed` signal, in the same transaction), see it on the dashboard and in the admin, and can retry it
  (`work_retry`: idempotent, it only makes failed rows due again);
- wake: one bell after commit per kind (the kind's Celery queue), plus one periodic sweep that rings
  for rows whose bell was lost. The sweep only rings; it never does the work itself.

Kinds register themselves (`work_kind_register`, from their app's ready()), so this module imports
no app, and the staff views and `reconcile_stock` see every kind.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db import models, transaction
from django.db.models import F, Q
from django.dispatch import Signal
from django.utils import timezone

log = logging.getLogger(__name__)

# Sent inside the transaction that quarantined a row: kind (its name), pk, reason.
work_failed = Signal()


class WorkRow(models.Model):
    """The engine's bookkeeping, on every kind of durable work."""

    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(db_index=True)
    locked_until = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)
    failed_at = models.DateTimeField(null=True, blank=True,
                                     help_text="Set aside for staff: it failed for good, or too many times.")

    class Meta:
        abstract = True


@dataclass(frozen=True)
class WorkKind:
    """One kind of durable work: which rows wait, how many tries it gets, which bell wakes it."""

    name: str  # "intake", "stripe_job", …: in notices, admin messages and reconcile_stock
    label: str  # for staff: "Stripe event", "Stripe job", …
    model: type[WorkRow]
    waiting: Q  # not done yet (failed rows are excluded by the engine)
    queue: str  # the bell's queue role: "sales", "stripe" or "notify"
    max_attempts: Callable[[], int]
    ready: Q | None = None  # what a worker can take now, if narrower than `waiting` (default: waiting)
    born: str = "next_attempt_at"  # the field that says how old a row is, for "stuck"
    on_fail: dict = field(default_factory=dict)  # extra fields set when quarantined (a state)
    on_retry: dict = field(default_factory=dict)  # extra fields set when staff retry
    describe: Callable[[WorkRow], str] = str
    money: bool = False  # rows waiting are drift for reconcile_stock (a sale or payment not finished)

    @property
    def due(self) -> Q:
        now = timezone.now()
        ready = self.waiting if self.ready is None else self.ready
        return ready & Q(failed_at__isnull=True) & (Q(locked_until__isnull=True) | Q(locked_until__lt=now))


KINDS: dict[str, WorkKind] = {}


def work_kind_register(kind: WorkKind) -> WorkKind:
    KINDS[kind.name] = kind
    return kind


# --- claiming, and what happens after a try -------------------------------------------------------


def work_claim(kind: WorkKind, *, limit: int, lease_seconds: float, where: Q | None = None) -> list:
    """Lease up to `limit` due rows (oldest due first; `where` narrows them), counting the try."""
    now = timezone.now()
    with transaction.atomic():
        ids = list(kind.model.objects.select_for_update(skip_locked=True)
                   .filter(kind.due, where or Q(), next_attempt_at__lte=now)
                   .order_by("next_attempt_at").values_list("pk", flat=True)[:limit])
        kind.model.objects.filter(pk__in=ids).update(locked_until=now + timedelta(seconds=lease_seconds),
                                                     attempts=F("attempts") + 1)
    return list(kind.model.objects.filter(pk__in=ids).order_by("next_attempt_at"))


def work_try_failed(kind: WorkKind, row, *, error: str, delay: float) -> float | None:
    """A try of a leased row failed for a reason that may pass: record it and wait `delay`, or
    quarantine the row once it has had max_attempts tries. Returns the wait (None: quarantined)."""
    if row.attempts >= kind.max_attempts():
        work_quarantine(kind, pks=[row.pk], reason=f"gave up after {row.attempts} tries: {error}")
        return None
    kind.model.objects.filter(pk=row.pk).update(next_attempt_at=timezone.now() + timedelta(seconds=delay),
                                                locked_until=None, last_error=error[:500])
    return delay


def work_tries_record(kind: WorkKind, *, pks: list, error: str) -> None:
    """A whole batch failed for a reason of the moment (a lost connection, a deadlock), not of its
    rows: count the try and its error on each, outside the rolled-back batch, and keep them due.
    They are not set aside (a database killing connections must not discard sales); staff see them
    as stuck once they wait longer than WORK_STUCK_SECONDS, with this error."""
    kind.model.objects.filter(pk__in=pks, failed_at__isnull=True).update(attempts=F("attempts") + 1,
                                                                         last_error=error[:500])


def work_quarantine(kind: WorkKind, *, pks: list, reason: str) -> int:
    """Set rows aside with their reason; the rest of the work goes on. Only rows not failed already
    change, so each failure is announced once (work_failed, after commit)."""
    if not pks:
        return 0
    reason = reason[:500]
    with transaction.atomic():
        failing = list(kind.model.objects.select_for_update().filter(pk__in=pks, failed_at__isnull=True)
                       .values_list("pk", flat=True))
        kind.model.objects.filter(pk__in=failing).update(failed_at=timezone.now(), locked_until=None,
                                                         last_error=reason, **kind.on_fail)
        for pk in failing:
            log.error("%s %s set aside: %s", kind.label, pk, reason)
            # In this transaction: the staff notice commits with the failure, or neither does.
            work_failed.send(sender=work_quarantine, kind=kind.name, pk=pk, reason=reason)
    return len(failing)


def work_retry(kind: WorkKind, *, pks: list) -> int:
    """Staff fixed the cause: make the failed rows due again, with fresh tries. Idempotent: rows not
    failed (done, or already retried) are left alone, and the work itself never repeats what it did."""
    retried = kind.model.objects.filter(pk__in=pks, failed_at__isnull=False).update(
        failed_at=None, attempts=0, last_error="", locked_until=None, next_attempt_at=timezone.now(),
        **kind.on_retry)
    return retried


def retry_delay(*, attempts: int, base: float, cap: float, floor: float = 0.0) -> float:
    """Exponential backoff with full jitter, capped; `floor` (a server's Retry-After) wins."""
    delay = min(cap, base * 2 ** max(attempts - 1, 0)) * random.uniform(0.5, 1.0)
    return max(delay, floor)


# --- what staff see -------------------------------------------------------------------------------


@dataclass(frozen=True)
class WorkProblem:
    kind: WorkKind
    failed: int
    stuck: int
    oldest: datetime  # when the oldest failed or stuck row failed or was recorded

    @property
    def count(self) -> int:
        return self.failed + self.stuck


def work_problems(*, stuck_after: timedelta) -> list[WorkProblem]:
    """Per kind with any: rows set aside (failed) and rows waiting longer than `stuck_after`."""
    now, problems = timezone.now(), []
    for kind in KINDS.values():
        failed = kind.model.objects.filter(failed_at__isnull=False)
        stuck = kind.model.objects.filter(kind.waiting, failed_at__isnull=True,
                                          **{f"{kind.born}__lt": now - stuck_after})
        counts = [failed.count(), stuck.count()]
        if not any(counts):
            continue
        oldest = [t for t in (failed.order_by("failed_at").values_list("failed_at", flat=True).first(),
                              stuck.order_by(kind.born).values_list(kind.born, flat=True).first()) if t]
        problems.append(WorkProblem(kind, *counts, oldest=min(oldest)))
    return problems


def work_problem_lines(*, stuck_after: timedelta, kinds: list[WorkKind] | None = None, limit: int = 20) -> list[str]:
    """One line per failed or stuck row (at most `limit` per kind), naming it and its reason."""
    now, lines = timezone.now(), []
    for kind in KINDS.values() if kinds is None else kinds:
        rows = kind.model.objects.filter(Q(failed_at__isnull=False) | (
            kind.waiting & Q(**{f"{kind.born}__lt": now - stuck_after})))
        for row in rows.order_by("pk")[:limit]:
            state = "failed" if row.failed_at else "still waiting"
            lines.append(f"{kind.label} {kind.describe(row)} {state}" + (f": {row.last_error}" if row.last_error else ""))
    return lines


def work_overdue(kind: WorkKind, *, grace: timedelta) -> bool:
    """Rows due for longer than `grace` with no worker on them: their bell was lost."""
    return kind.model.objects.filter(kind.due, next_attempt_at__lt=timezone.now() - grace).exists()


# --- waking -----------------------------------------------------------------------------------------

# Queue role → what rings its bell (publishes its wake task), registered by the app that owns the task.
BELLS: dict[str, Callable[[], None]] = {}


def work_bell_register(queue: str, ring: Callable[[], None]) -> None:
    BELLS[queue] = ring


def work_sweep(*, grace: timedelta, drain: dict[str, Callable[[], int]] | None = None) -> list[str]:
    """The fallback wake path: ring the bell of each queue with work overdue (its bell was lost).
    Returns the queues rung. `drain` (a worker's own sweep) names queues it drains itself instead."""
    rung = []
    for queue in dict.fromkeys(kind.queue for kind in KINDS.values()):
        if not any(work_overdue(kind, grace=grace) for kind in KINDS.values() if kind.queue == queue):
            continue
        if drain and queue in drain:
            log.warning("sweep: %s work no bell announced, drained here: %s", queue, drain[queue]())
        elif queue in BELLS:
            BELLS[queue]()
        rung.append(queue)
    return rung
