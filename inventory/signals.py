from dataclasses import dataclass

from django.dispatch import Signal


@dataclass(frozen=True)
class HoldFacts:
    """What a new hold knows of its product, read under the product's lock: receivers of stock_moved
    and stock_changed use it to skip follow-ups that cannot apply, without a query. A hold only
    lowers availability, so nobody on the waitlist can be served by it, a low-stock alert can only
    open if `available` is now at or below the threshold, and a product whose Payment Link does not
    follow its stock (none, or held checkout only) needs no link sync."""

    available: int  # after the hold
    low_stock_threshold: int
    link_follows_stock: bool


# Sent inside the transaction that changed a product's stock or holds (so receivers can record
# durable follow-up work in the same transaction); carries the product id, and `hold` (HoldFacts)
# when the change is a new hold.
stock_moved = Signal()

# Sent after the transaction that changed stock has committed; carries the product id, and `hold`
# (HoldFacts) when the change was a new hold.
stock_changed = Signal()

# Sent by reconcile_stock with `older_than` (a datetime); each receiver returns a list of problems
# (one line each) found in its own records, e.g. purchases stored but never applied.
reconcile_requested = Signal()

# Sent by seed_demo for each demo store, so that payments puts the demo's products and prices in the
# offline Stripe account and imports them into the store as a real booth is set up (inventory never
# imports payments); carries store_id, catalogue (plain dicts: inventory/demo.py) and product_ids.
demo_catalogue_wanted = Signal()

# Sent after the transaction that opened a low-stock alert has committed; carries the alert id.
low_stock_alert_opened = Signal()

# Sent when a page or a broadcast says "Reserved — back in N min": carries hold_refs (the holds
# in force on the products shown); each receiver returns {hold_ref: when the buyer's hold lapses}
# for the holds it owns (a checkout's own deadline, earlier than its units' when Stripe's page
# keeps them longer). Holds nobody answers for lapse when their reservation does.
hold_lapses_wanted = Signal()
