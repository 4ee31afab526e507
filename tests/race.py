"""Races on purpose, after Saleor's `saleor/tests/race_condition.py` (RunBefore / RunAfter).

Instead of hoping the scheduler interleaves two transactions badly, a race test makes a competing
write happen at the worst moment:

- `run_before("inventory.services._apply_delta", competitor)` patches one of our functions so the
  competitor runs just before its first call;
- `before_sql(matches, competitor)` runs it just before the first matching SQL statement on this
  thread's connection, which is finer than any function boundary (between a read and the write
  that depends on it).

The competitor itself runs in a `Worker`: another thread, hence another PostgreSQL connection and
transaction, so it commits (or waits for our locks) exactly as a second web process would. Tests
that use these need `django_db(transaction=True)`: the other connection only sees committed rows.
"""

import pkgutil
import threading
import time
from contextlib import contextmanager
from typing import Any, Callable
from unittest import mock

from django.db import connection


class Worker(threading.Thread):
    """Runs `fn(**kwargs)` in its own thread and database connection; keeps the result or the error."""

    def __init__(self, fn: Callable[..., Any], *, barrier: threading.Barrier | None = None, **kwargs):
        super().__init__(daemon=True)
        self.fn, self.kwargs, self.barrier = fn, kwargs, barrier
        self.result: Any = None
        self.error: BaseException | None = None

    def run(self):
        try:
            if self.barrier is not None:
                self.barrier.wait(timeout=30)
            self.result = self.fn(**self.kwargs)
        except BaseException as exc:  # handed to the test thread by outcome()
            self.error = exc
        finally:
            # Each thread opened its own connection; leave none behind to block the test's flush.
            connection.close()

    def outcome(self, timeout: float = 30) -> Any:
        """The result, or re-raise the thread's exception; fail if it never finished (a deadlock)."""
        self.join(timeout)
        if self.is_alive():
            raise AssertionError(f"{self.fn.__name__} still running after {timeout}s: deadlocked?")
        if self.error is not None:
            raise self.error
        return self.result


def in_other_connection(fn: Callable[..., Any], **kwargs) -> Any:
    """Run `fn` to completion (commit included) in another connection, as a competing process."""
    worker = Worker(fn, **kwargs)
    worker.start()
    return worker.outcome()


@contextmanager
def run_before(target: str, competitor: Callable[..., Any]):
    """Patch `target` (a dotted path) so `competitor(*args, **kwargs)` runs once, just before it.

    Later calls, including any the competitor makes from its own thread, go straight through.
    Yields an Event the test checks, so a test whose race never happened cannot pass.
    """
    original = pkgutil.resolve_name(target)
    fired = threading.Event()
    claim = threading.Lock()

    def wrapper(*args, **kwargs):
        with claim:
            first = not fired.is_set()
            fired.set()
        if first:
            competitor(*args, **kwargs)
        return original(*args, **kwargs)

    with mock.patch(target, new=wrapper):
        yield fired


@contextmanager
def before_sql(matches: Callable[[str], bool], competitor: Callable[[], Any]):
    """Run `competitor()` once, just before the first statement on this connection that `matches`."""
    fired = threading.Event()

    def wrapper(execute, sql, params, many, context):
        if not fired.is_set() and matches(sql):
            fired.set()
            competitor()
        return execute(sql, params, many, context)

    with connection.execute_wrapper(wrapper):
        yield fired


def wait_until_blocked_on_lock(table: str, timeout: float = 5.0) -> bool:
    """True once another backend of this database waits on a lock in a statement on `table`."""
    deadline = time.monotonic() + timeout
    with connection.cursor() as cursor:
        while time.monotonic() < deadline:
            # Inside a transaction PostgreSQL keeps one statistics snapshot; drop it to look again.
            cursor.execute("SELECT pg_stat_clear_snapshot()")
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND pid <> pg_backend_pid() AND wait_event_type = 'Lock' AND query LIKE %s",
                [f"%{table}%"],
            )
            if cursor.fetchone()[0]:
                return True
            time.sleep(0.02)
    return False


@contextmanager
def waiting_behind_our_locks(target: str, worker: Worker, *, table: str = "inventory_product"):
    """Start `worker` (another connection) just before `target` runs, once our transaction holds its
    row locks, and check that it waits for them; join it when the block ends, even on failure.
    Yields the Event of run_before, so a test whose race never happened cannot pass."""

    def competitor(*args, **kwargs):
        worker.start()
        assert wait_until_blocked_on_lock(table), f"{worker.fn.__name__} did not wait for our lock on {table}"

    try:
        with run_before(target, competitor) as fired:
            yield fired
    finally:
        if worker.ident is not None:
            worker.join(30)
