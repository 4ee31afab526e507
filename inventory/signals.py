from django.dispatch import Signal

# Sent inside the transaction that changed a product's stock or holds (so receivers can record
# durable follow-up work in the same transaction); carries only the product id.
stock_moved = Signal()

# Sent after the transaction that changed stock has committed; carries only the product id.
stock_changed = Signal()

# Sent by reconcile_stock with `older_than` (a datetime); each receiver returns a list of problems
# (one line each) found in its own records, e.g. purchases stored but never applied.
reconcile_requested = Signal()

# Sent by seed_demo for each demo product, inside its transaction, so that payments can give it an
# offline Payment Link (inventory never imports payments); carries the product.
demo_product_seeded = Signal()

# Sent after the transaction that opened a low-stock alert has committed; carries the alert id.
low_stock_alert_opened = Signal()
