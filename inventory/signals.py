from django.dispatch import Signal

# Sent after the transaction that changed stock has committed; carries only the product id.
stock_changed = Signal()
