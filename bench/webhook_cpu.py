"""CPU per signed webhook in the store's own request path, with no server and no worker.

    .venv/bin/python bench/webhook_cpu.py [--deliveries 500] [--pool] [--profile]

Posts `--deliveries` signed checkout.session.completed events through Django's test client, one
thread, with the bells disconnected (nothing is applied: only verify, store, record the intake
row). Prints wall and CPU time per webhook and, as the reference measured in the same run, per
do-nothing request (a GET answered 404, through the same client and middleware); the difference
is what the webhook view itself costs. `--profile` adds a pyinstrument tree of the webhook loop.
Uses its own database (default swagstore_bench_webhook), created and migrated on first use.
"""

import argparse
import os
import secrets
import sys
import time

from stack import ROOT, django_on_own_database  # bench/stack.py (this script's folder is on the path)

sys.path.insert(0, str(ROOT))
DB_NAME = os.environ.get("BENCH_DB", "swagstore_bench_webhook")
SECRET = "whsec_bench_cpu"


def prepare(pool: bool) -> None:
    os.environ.update({"DJANGO_SETTINGS_MODULE": "swagstore.settings.base", "REDIS_URL": "", "LOG_LEVEL": "WARNING",
                       "DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/{DB_NAME}", "ALLOWED_HOSTS": "testserver",
                       "DATABASE_POOL": "true" if pool else "false"})
    django_on_own_database(DB_NAME)


def deliveries(count: int) -> tuple[str, list[tuple[str, str]]]:
    from payments.endpoints import webhook_endpoint_configure, webhook_endpoint_path
    from tests.fakes.stripe import events

    endpoint, _ = webhook_endpoint_configure(secret=SECRET, site_url="http://testserver")
    url = webhook_endpoint_path(endpoint)
    bodies = [events.body_of(events.checkout_session_completed(session_id=f"cs_cpu_{secrets.token_hex(8)}",
                                                               payment_intent=None,
                                                 payment_link="plink_cpu", amount_total=1000)) for _ in range(count)]
    return url, [(body, events.signature(body, SECRET)) for body in bodies]


def do_nothing(client, count: int) -> tuple[float, float]:
    """Wall and CPU seconds for `count` requests that do nothing (a 404), after a few to warm up."""
    import logging

    logging.getLogger("django.request").setLevel(logging.ERROR)  # not a "Not Found" line per request
    for _ in range(20):
        client.get("/bench-nothing-here/")
    wall, cpu = time.perf_counter(), time.process_time()
    for _ in range(count):
        client.get("/bench-nothing-here/")
    return time.perf_counter() - wall, time.process_time() - cpu


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--deliveries", type=int, default=500)
    parser.add_argument("--pool", action="store_true", help="a PostgreSQL connection pool, as in production")
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    if args.deliveries < 1:
        parser.error("--deliveries must be at least 1")
    prepare(args.pool)
    from django.test import Client

    from payments.receivers import ring_fulfilment, ring_settlement
    from payments.work.bells import purchases_recorded, stripe_work_recorded

    purchases_recorded.disconnect(ring_fulfilment)
    stripe_work_recorded.disconnect(ring_settlement)
    url, posts = deliveries(args.deliveries)
    client, profiler = Client(), None
    nothing = do_nothing(client, args.deliveries)
    if args.profile:
        from pyinstrument import Profiler

        profiler = Profiler(interval=0.0005)
        profiler.start()
    wall, cpu = time.perf_counter(), time.process_time()
    for body, signature in posts:
        response = client.post(url, data=body, content_type="application/json", HTTP_STRIPE_SIGNATURE=signature)
        if response.status_code != 200:
            print(f"webhook answered {response.status_code}: {response.content[:200]!r}", file=sys.stderr)
            return 1
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    if profiler:
        profiler.stop()
        print(profiler.output_text(show_all=False))
    n = args.deliveries
    print(f"{n} webhooks, one thread, pool={'on' if args.pool else 'off'}: {n / wall:.0f}/s; "
          f"per webhook {1000 * wall / n:.2f} ms wall, {1000 * cpu / n:.2f} ms CPU")
    print(f"reference, {n} do-nothing requests (404) in the same run: {n / nothing[0]:.0f}/s; "
          f"per request {1000 * nothing[0] / n:.2f} ms wall, {1000 * nothing[1] / n:.2f} ms CPU; "
          f"the view's own CPU: {1000 * (cpu - nothing[1]) / n:.2f} ms per webhook")
    return 0


if __name__ == "__main__":
    sys.exit(main())
