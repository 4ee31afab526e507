"""Signal receivers: thin adapters from inventory and our own bells to one service each."""

from django.dispatch import receiver

from common.ringing import BELL_TTL_MS, bell_not_yet_rung, ring
from common.work import work_bell_register
from inventory.signals import HoldFacts, demo_catalogue_wanted, hold_lapses_wanted, reconcile_requested, stock_moved

from . import tasks
from .audit import unfinished_purchase_work
from .checkout.hold_lapses import checkout_hold_lapses
from .offline.catalogue import demo_catalogue_import
from .scan.remembered import scans_forget
from .work.bells import purchases_recorded, stripe_work_recorded
from .work.records import link_sync_wanted


@receiver(stock_moved)
def stock_moved_sync_payment_link(sender, product_id: int, hold: HoldFacts | None = None, **kwargs):
    if hold is not None and not hold.link_follows_stock:
        return  # read under the hold's lock: no Payment Link follows this product's stock
    link_sync_wanted(product_id=product_id)


@receiver(stock_moved)
def stock_moved_forget_scans(sender, product_id: int, hold: HoldFacts | None = None, **kwargs):
    # What this process remembers of scans; the others' memories last SCAN_CACHE_SECONDS at most.
    if hold is not None and hold.available > 0:
        # A hold that leaves units: remembering a unit too many for a second costs nothing (the
        # next hold locks and counts afresh) and spares a rush's winners a read each.
        return
    scans_forget()


@receiver(purchases_recorded)
def ring_fulfilment(sender, **kwargs):
    if bell_not_yet_rung("fulfilment"):
        ring(tasks.fulfilment_wake, countdown=0)


# The sweep's bells (common/work.py), for work whose bell after commit was lost.
work_bell_register("sales", lambda: ring(tasks.fulfilment_wake))
work_bell_register("stripe", lambda: ring(tasks.settlement_wake))


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


@receiver(hold_lapses_wanted)
def hold_lapses_of_checkouts(sender, hold_refs: list[str], **kwargs) -> dict:
    return checkout_hold_lapses(hold_refs=hold_refs)
