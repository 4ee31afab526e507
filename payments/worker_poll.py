"""The worker's own sweeper: a thread in every Celery worker that looks at PostgreSQL itself.

Bells travel through Redis, and so does beat's sweep. When Redis drops, a Celery worker may stop
consuming until it is restarted (its reconnect can hang), so the last line of defence must not
need the broker: at start-up and every DURABLE_SWEEP_SECONDS this thread drains any work that has
waited longer than DURABLE_SWEEP_GRACE_SECONDS, straight from PostgreSQL. Normally the bells get
there first and it finds nothing to do (two indexed EXISTS queries).

Loaded by swagstore/celery.py before Django is set up, so the app's own modules (which need loaded
models) are imported only in the thread.
"""

import logging
import threading

from celery import bootsteps
from django.conf import settings
from django.db import close_old_connections, connection

log = logging.getLogger(__name__)


class PostgresSweeper(bootsteps.StartStopStep):
    requires = {"celery.worker.components:Pool"}

    def __init__(self, worker, **kwargs):
        super().__init__(worker, **kwargs)
        self.stopping = threading.Event()
        self.thread: threading.Thread | None = None

    def start(self, worker):
        self.thread = threading.Thread(target=self._loop, name="postgres-sweeper", daemon=True)
        self.thread.start()

    def stop(self, worker):
        self.stopping.set()

    def _loop(self) -> None:
        while not self.stopping.is_set():
            _sweep_once()
            self.stopping.wait(settings.DURABLE_SWEEP_SECONDS)


def _sweep_once() -> None:
    # Here, not at the top: this module loads before django.setup() (swagstore/celery.py), and these
    # import models.
    from .fulfilment.purchases import intake_drain
    from .settlement.runner import settlement_drain
    from .sweeper import durable_work_overdue

    try:
        overdue = durable_work_overdue()
        if overdue.fulfilment:
            applied = intake_drain(seconds=settings.DRAIN_SECONDS, batch_size=settings.FULFILMENT_BATCH_SIZE)
            log.warning("postgres sweeper applied %s event(s) no bell announced", applied)
        if overdue.settlement:
            ran = settlement_drain(seconds=settings.DRAIN_SECONDS)
            log.warning("postgres sweeper ran %s Stripe job(s) no bell announced", ran)
        _send_due_low_stock_alerts()
    except Exception:  # the database may be away too: try again next round, on a new connection
        log.exception("postgres sweeper round failed")
        connection.close()
    finally:
        close_old_connections()


def _send_due_low_stock_alerts() -> None:
    # Here, not at the top: this module loads from swagstore/celery.py before django.setup().
    from inventory.alerts import low_stock_alerts_send_due

    if sent := low_stock_alerts_send_due():
        log.warning("postgres sweeper sent %s low-stock alert(s) no bell announced", sent)
