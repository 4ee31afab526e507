"""The three kinds of durable work payments records, as the work engine (common/work.py) knows them:
stored Stripe events (applied by the sales queue), Stripe jobs and Payment Link syncs (the stripe
queue). Registered from PaymentsConfig.ready(), so the sweep, the staff banner and reconcile_stock
see them."""

from django.conf import settings
from django.db.models import F, Q

from common.work import WorkKind, work_kind_register

from ..models import IntakeEvent, LinkSync, StripeJob

INTAKE = work_kind_register(WorkKind(
    name="intake", label="Stripe event", model=IntakeEvent, queue="sales",
    waiting=Q(state__in=[IntakeEvent.State.READY, IntakeEvent.State.AWAITING_LINES]),
    ready=Q(state=IntakeEvent.State.READY), born="received_at",
    # Each event fails alone at its first error of its own; whole-batch errors never set it aside.
    max_attempts=lambda: 1,
    on_fail={"state": IntakeEvent.State.FAILED}, on_retry={"state": IntakeEvent.State.READY},
    describe=lambda i: f"{i.event_id} ({i.event_type}, {i.object_id or 'no object'})", money=True))

STRIPE_JOB = work_kind_register(WorkKind(
    name="stripe_job", label="Stripe job", model=StripeJob, queue="stripe",
    waiting=Q(state=StripeJob.State.PENDING), born="created_at",
    max_attempts=lambda: settings.STRIPE_MAX_ATTEMPTS,
    on_fail={"state": StripeJob.State.FAILED}, on_retry={"state": StripeJob.State.PENDING, "done_at": None},
    describe=lambda j: j.key, money=True))

LINK_SYNC = work_kind_register(WorkKind(
    name="link_sync", label="Payment Link sync", model=LinkSync, queue="stripe",
    waiting=Q(wanted__gt=F("synced")), max_attempts=lambda: settings.STRIPE_MAX_ATTEMPTS,
    describe=lambda s: f"of product {s.product_id}"))
