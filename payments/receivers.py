"""Signal receivers: thin adapters from dj-stripe, inventory and our own bells to one service each."""

import logging

from celery.signals import worker_ready
from django.dispatch import receiver
from djstripe import event_handlers
from djstripe.event_handlers import djstripe_receiver
from djstripe.models import Event
from djstripe.signals import WEBHOOK_SIGNALS
from kombu.exceptions import OperationalError as BrokerError
from redis.exceptions import RedisError

from inventory.signals import reconcile_requested, stock_moved

from . import tasks
from .audit import unfinished_purchase_work
from .bell_debounce import BELL_TTL_MS, bell_not_yet_rung
from .intake.services import OWNED_EVENT_TYPES, intake_record
from .settlement.records import link_sync_wanted
from .signals import purchases_recorded, stripe_work_recorded

log = logging.getLogger(__name__)

# dj-stripe's own receiver would re-fetch these objects from Stripe inside the webhook request and
# fail it (500) whenever Stripe is out of reach; we act on the signed body instead.
for _event_type in OWNED_EVENT_TYPES:
    WEBHOOK_SIGNALS[_event_type].disconnect(event_handlers.handle_other_event, sender=Event)


@djstripe_receiver(list(OWNED_EVENT_TYPES))
def stripe_event_take_in(sender, event, **kwargs):
    """Inside the webhook's transaction: the event's work becomes a row before we answer 2xx."""
    intake_record(event=event)


@receiver(stock_moved)
def stock_moved_sync_payment_link(sender, product_id: int, **kwargs):
    link_sync_wanted(product_id=product_id)


@receiver(purchases_recorded)
def ring_fulfilment(sender, **kwargs):
    if bell_not_yet_rung("fulfilment"):
        _ring(tasks.fulfilment_wake, countdown=0)


@receiver(stripe_work_recorded)
def ring_settlement(sender, countdown: float = 0, **kwargs):
    # A later bell (a retry's backoff) is one per kind too; the sweeper rings for anything it hides.
    kind, ttl_ms = ("settlement-later", countdown * 1000) if countdown else ("settlement", BELL_TTL_MS)
    if bell_not_yet_rung(kind, ttl_ms=ttl_ms):
        _ring(tasks.settlement_wake, countdown=countdown)


@worker_ready.connect
def sweep_at_worker_start(sender=None, **kwargs):
    _ring(tasks.durable_work_sweep, countdown=0)


def _ring(task, *, countdown: float) -> None:
    # The work is committed in PostgreSQL already: a broker outage only delays it until the sweeper
    # (or the next bell) runs, so it must never fail the request that recorded the work.
    try:
        task.apply_async(countdown=countdown or None)
    except (BrokerError, RedisError, OSError) as exc:
        log.warning("could not ring %s (%s): the sweeper will pick the work up", task.name, exc)


@receiver(reconcile_requested)
def reconcile_purchase_work(sender, older_than, **kwargs) -> list[str]:
    return unfinished_purchase_work(older_than=older_than)
