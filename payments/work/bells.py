"""Ring after commit: the only way services ask for a worker.

Only rows in PostgreSQL say what is to be done, so a bell that is never heard loses nothing (the
periodic sweeper rings again). One bell per kind per transaction is enough, however many rows it
recorded.
"""

from django.db import transaction
from django.dispatch import Signal

# Sent after the commit that recorded work, so the receivers (payments/receivers.py) can wake a
# worker: services never depend on tasks, and tasks never on a message.
# Intake events are ready for fulfilment.
purchases_recorded = Signal()
# Stripe jobs or Payment Link syncs are due.
stripe_work_recorded = Signal()


def ring_fulfilment_on_commit() -> None:
    _once_on_commit("fulfilment", lambda: purchases_recorded.send(sender=ring_fulfilment_on_commit))


def ring_settlement_on_commit(*, countdown: float = 0) -> None:
    _once_on_commit(f"settlement:{countdown:.1f}",
                    lambda: stripe_work_recorded.send(sender=ring_settlement_on_commit, countdown=countdown))


def _once_on_commit(tag: str, ring) -> None:
    # Deduplicated within one atomic block (same savepoints), where a batch rings per product.
    connection = transaction.get_connection()
    savepoints = set(connection.savepoint_ids)
    if connection.in_atomic_block and any(getattr(func, "bell", None) == tag and set(sids) == savepoints
                                          for sids, func, *_ in connection.run_on_commit):
        return
    ring.bell = tag
    transaction.on_commit(ring)


def ring_settlement_later(*, countdown: float) -> None:
    """Outside any transaction: wake a worker when the next job falls due."""
    stripe_work_recorded.send(sender=ring_settlement_later, countdown=countdown)
