"""PostgreSQL seen from the test: a row lock that freezes a worker mid-batch, and the backends of
one process (by its application_name) to look at or terminate."""

from __future__ import annotations

from contextlib import contextmanager

import psycopg
from django.db import connection

from inventory.models import Product


def database_url() -> str:
    """The test database as a DATABASE_URL for the processes a test starts."""
    s = connection.settings_dict
    auth = s["USER"] or "postgres"
    if s.get("PASSWORD"):
        auth += f":{s['PASSWORD']}"
    return f"postgres://{auth}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


@contextmanager
def product_row_locked(product_id: int):
    """Hold the product row on a connection of our own: any batch that sells from it (a conditional
    UPDATE or SELECT … FOR UPDATE) waits, inside its transaction, until the block ends; then our
    transaction rolls back. FOR NO KEY UPDATE leaves inserts of rows referencing the product
    (their foreign-key check takes FOR KEY SHARE) free, so only writers of the row wait."""
    s = connection.settings_dict
    with psycopg.connect(host=s["HOST"] or "127.0.0.1", port=s["PORT"] or 5432, user=s["USER"],
                         password=s.get("PASSWORD") or None, dbname=s["NAME"],
                         application_name="faults-test-lock") as lock:
        lock.execute(f"SELECT id FROM {Product._meta.db_table} WHERE id = %s FOR NO KEY UPDATE", [product_id])
        try:
            yield
        finally:
            lock.rollback()


def backends(app_name: str, *, waiting_on_lock: bool = False, in_transaction: bool = False) -> list[int]:
    sql = ("SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() "
           "AND application_name = %s")
    if waiting_on_lock:
        sql += " AND wait_event_type = 'Lock'"
    if in_transaction:
        sql += " AND xact_start IS NOT NULL"
    with connection.cursor() as cursor:
        cursor.execute(sql, [app_name])
        return [pid for (pid,) in cursor.fetchall()]


def terminate(app_name: str, pids: list[int]) -> int:
    """pg_terminate_backend on those pids that still belong to `app_name`; returns how many ended."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM pg_stat_activity "
                       "WHERE pid = ANY(%s) AND application_name = %s AND datname = current_database()",
                       [pids, app_name])
        return cursor.fetchone()[0]
