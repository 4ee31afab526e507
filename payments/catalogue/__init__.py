"""A store's catalogue from Stripe: import a Stripe account's products and prices as the store's
products and variants, with a Payment Link each (imports.py), and keep names, pictures and prices
in step from product.updated / price.updated events (events.py). Stripe is read only through the
gateway; the store's rows are written only through inventory.catalogue (and stock through
inventory.services)."""
