"""The worker's own sweep: a thread in every Celery worker that looks at PostgreSQL itself.

Bells travel through Redis, and so does beat's sweep. When Redis drops, a Celery worker may stop
consuming until it is restarted (its reconnect can hang), so the last line of defence must not
need the broker: at start-up and every DURABLE_SWEEP_SECONDS this thread runs the work engine's
sweep (common/work.py), which rings the bell of each queue with work that waited longer than
DURABLE_SWEEP_GRACE_SECONDS. It never sends or calls anything outside itself: the one exception
is a worker that takes the sales queue, which applies overdue sales here, because applying a sale
touches PostgreSQL only and must not wait for the broker. Normally the bells get there first and
it finds nothing to do (one indexed EXISTS query per kind).

Loaded by swagstore/celery.py before Django is set up, so the app's own modules (which need loaded
models) are imported only in the thread.
"""

import logging
import threading
from datetime import timedelta

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
        self.queues: set[str] = set()

    def start(self, worker):
        self.queues = set(worker.app.amqp.queues.consume_from)
        self.thread = threading.Thread(target=self._loop, name="postgres-sweeper", daemon=True)
        self.thread.start()

    def stop(self, worker):
        self.stopping.set()

    def _loop(self) -> None:
        while not self.stopping.is_set():
            sweep_once(takes_sales=settings.WORK_QUEUES["sales"] in self.queues)
            self.stopping.wait(settings.DURABLE_SWEEP_SECONDS)


def sweep_once(*, takes_sales: bool) -> None:
    # Here, not at the top: this module loads before django.setup() (swagstore/celery.py), and these
    # import models.
    from common.work import work_sweep
    # (the same reason: models)
    from .fulfilment.purchases import intake_drain

    def drain_sales() -> int:
        return intake_drain(seconds=settings.DRAIN_SECONDS, batch_size=settings.FULFILMENT_BATCH_SIZE)

    try:
        work_sweep(grace=timedelta(seconds=settings.DURABLE_SWEEP_GRACE_SECONDS),
                   drain={"sales": drain_sales} if takes_sales else None)
    except Exception:  # the database may be away too: try again next round, on a new connection
        log.exception("postgres sweeper round failed")
        connection.close()
    finally:
        close_old_connections()
