"""Celery tasks: bells that wake a worker to drain work recorded in PostgreSQL. Each calls one
service; none decides anything, and losing any of them loses nothing (the sweeper rings again).

No task retries through Celery: Stripe failures are retried from the job rows themselves, so a
task's message never carries work that exists nowhere else.
"""

from datetime import timedelta

from celery import shared_task
from django.conf import settings

from common import words
from common.ringing import bell_heard, ring
from common.work import work_sweep

from .checkout.session_pool import session_pools_fill
from .work.bells import ring_settlement_later
from .fulfilment.checkouts import checkouts_follow_lapsing, holds_release_expired
from .fulfilment.held import held_sessions_lapsed_record
from .fulfilment.purchases import intake_drain, intake_waiting
from .settlement.runner import settlement_drain, settlement_next_due_in


@shared_task(ignore_result=True)
def fulfilment_wake() -> str:
    """Apply ready purchases and payment events in batches; ring again if time ran out first."""
    bell_heard("fulfilment")
    applied = intake_drain(seconds=settings.DRAIN_SECONDS, batch_size=settings.FULFILMENT_BATCH_SIZE)
    if intake_waiting():
        ring(fulfilment_wake)
    return f"applied {words.events(applied)}"


@shared_task(ignore_result=True)
def settlement_wake() -> str:
    """Run the Stripe jobs and Payment Link syncs that are due."""
    bell_heard("settlement")
    # Short turns: Stripe's rate limit makes a long settlement drain sleep in a pool process that a
    # fulfilment bell (a sale waiting) would otherwise have to queue behind.
    ran = settlement_drain(seconds=settings.SETTLEMENT_DRAIN_SECONDS)
    due_in = settlement_next_due_in()
    if due_in is not None and not settings.CELERY_TASK_ALWAYS_EAGER:
        ring_settlement_later(countdown=max(due_in, 0.1))
    return f"ran {words.jobs(ran)}"


@shared_task(ignore_result=True)
def durable_work_sweep() -> str:
    """Periodic (beat): ring for any kind of durable work left waiting longer than it should
    (common/work.py; the sales, stripe and notify queues alike). It only rings."""
    rung = work_sweep(grace=timedelta(seconds=settings.DURABLE_SWEEP_GRACE_SECONDS))
    return f"rang {', '.join(rung) or 'nothing'}"


@shared_task(ignore_result=True)
def checkouts_sweep() -> str:
    """Periodic: release lapsed holds; expire the sessions of lapsed held checkouts (their units
    stay held until Stripe agrees); follow open checkouts whose authorisation nears its lapse."""
    expired = holds_release_expired()
    sessions = held_sessions_lapsed_record()
    lapsing = checkouts_follow_lapsing()
    return (f"released {words.holds(len(expired))}, expiring {words.sessions(sessions)}, "
            f"following {words.checkouts(lapsing)} about to lapse")


@shared_task(ignore_result=True)
def held_session_pools_fill() -> str:
    """Periodic (beat): keep Checkout Sessions ready for held-mode products, at the shared rate limit."""
    return session_pools_fill()
