"""Signal receivers: thin adapters from dj-stripe, inventory and our own bells to one service each."""

from django.dispatch import receiver
from djstripe import event_handlers
from djstripe.event_handlers import djstripe_receiver
from djstripe.models import Event
from djstripe.signals import WEBHOOK_SIGNALS

from inventory.signals import demo_catalogue_wanted, reconcile_requested, stock_moved

from . import tasks
from .audit import unfinished_purchase_work
from .ringing import BELL_TTL_MS, bell_not_yet_rung, ring
from .intake.services import OWNED_EVENT_TYPES, intake_record
from .offline.catalogue import demo_catalogue_import
from .scan.link_targets import link_scan_targets_forget
from .settlement.records import link_sync_wanted
from .signals import purchases_recorded, stripe_work_recorded

# dj-stripe's catch-all receiver would re-fetch objects from Stripe inside the webhook request and
# fail it (500) whenever Stripe is out of reach: we act on the signed body of the types we own and
# only store the others (payments/intake/webhooks.py), so it is never wanted.
for _signal in WEBHOOK_SIGNALS.values():
    _signal.disconnect(event_handlers.handle_other_event, sender=Event)


@djstripe_receiver(list(OWNED_EVENT_TYPES))
def stripe_event_take_in(sender, event, **kwargs):
    """Inside the webhook's transaction: the event's work becomes a row before we answer 2xx."""
    intake_record(event=event)


@receiver(stock_moved)
def stock_moved_sync_payment_link(sender, product_id: int, **kwargs):
    link_sync_wanted(product_id=product_id)


@receiver(stock_moved)
def stock_moved_forget_scan_targets(sender, product_id: int, **kwargs):
    # This process's remembered redirects; the others' last SCAN_LINK_CACHE_SECONDS at most.
    link_scan_targets_forget()


@receiver(purchases_recorded)
def ring_fulfilment(sender, **kwargs):
    if bell_not_yet_rung("fulfilment"):
        ring(tasks.fulfilment_wake, countdown=0)


@receiver(stripe_work_recorded)
def ring_settlement(sender, countdown: float = 0, **kwargs):
    # A later bell (a retry's backoff) is one per kind too; the sweeper rings for anything it hides.
    kind, ttl_ms = ("settlement-later", countdown * 1000) if countdown else ("settlement", BELL_TTL_MS)
    if bell_not_yet_rung(kind, ttl_ms=ttl_ms):
        ring(tasks.settlement_wake, countdown=countdown)


@receiver(demo_catalogue_wanted)
def demo_catalogue_from_offline_stripe(sender, store_id: str, catalogue: list[dict], product_ids: list[str], **kwargs):
    demo_catalogue_import(store_id=store_id, catalogue=catalogue, product_ids=product_ids)


@receiver(reconcile_requested)
def reconcile_purchase_work(sender, older_than, **kwargs) -> list[str]:
    return unfinished_purchase_work(older_than=older_than)
