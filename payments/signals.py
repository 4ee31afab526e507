"""Bells: sent after the commit that recorded work, so the receivers can wake a worker.

Only rows in PostgreSQL say what is to be done; a bell that is never heard loses nothing (the
periodic sweeper rings again), so services never depend on tasks, and tasks never on a message.
"""

from django.dispatch import Signal

# Intake events are ready for fulfilment.
purchases_recorded = Signal()

# Stripe jobs or Payment Link syncs are due.
stripe_work_recorded = Signal()
