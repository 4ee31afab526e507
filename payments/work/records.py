"""Record what must happen at Stripe, in the caller's transaction; the runner does it later.

Nothing here calls Stripe: a decision (sell, oversold, hold lost) and the job that carries it out
commit together, so a worker killed between deciding and calling Stripe still gives the money
back, captures or switches the link, exactly once (the job key is Stripe's idempotency key).
"""

from django.db import connection
from django.utils import timezone

from inventory.models import Product, QrMode, Store

from .bells import ring_settlement_on_commit
from ..models import Checkout, IntakeEvent, LinkSync, Order, StripeJob


def stripe_job_record(*, action: str, key: str, order: Order | None = None, checkout: Checkout | None = None,
                      intake: IntakeEvent | None = None, payment_intent_id: str = "",
                      captured: bool | None = None) -> None:
    """Add a job unless one with the same key exists. Triggers (after commit): the settlement bell."""
    StripeJob.objects.bulk_create([StripeJob(
        action=action, key=key, order=order, checkout=checkout, intake=intake, payment_intent_id=payment_intent_id,
        captured=captured, next_attempt_at=timezone.now())], ignore_conflicts=True)
    ring_settlement_on_commit()


def stripe_jobs_record(jobs: list[StripeJob]) -> None:
    """Many jobs at once (a fulfilment batch); existing keys are left as they are."""
    now = timezone.now()
    for job in jobs:
        job.next_attempt_at = now
    StripeJob.objects.bulk_create(jobs, ignore_conflicts=True)
    if jobs:
        ring_settlement_on_commit()


def link_sync_wanted(*, product_id: int) -> None:
    """Ask for the product's Payment Link to be brought in step; many asks coalesce into one sync.

    An upsert that bumps `wanted`, in the stock change's own transaction (it shares the product's lock).
    Not for a product that sells only through held checkouts: no page or QR code offers its link,
    and following every hold with a link update cost Stripe calls for nothing.
    """
    table, products, stores = LinkSync._meta.db_table, Product._meta.db_table, Store._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (product_id, wanted, synced, attempts, next_attempt_at, last_error) "
            f"SELECT p.id, 1, 0, 0, %s, '' FROM {products} p JOIN {stores} s ON s.id = p.store_id "
            f"WHERE p.id = %s AND p.payment_link_id <> '' AND COALESCE(NULLIF(p.qr_mode, ''), s.qr_mode) <> %s "
            f"ON CONFLICT (product_id) DO UPDATE SET wanted = {table}.wanted + 1",
            [timezone.now(), product_id, QrMode.HELD_CHECKOUT.value])
        asked = cursor.rowcount
    if asked:
        ring_settlement_on_commit()
