"""CPU per QR scan in the store's own request path, with no server: what a keynote rush spends.

    .venv/bin/python bench/scan_cpu.py [--scans 200] [--profile]

Through Django's test client, one thread, a PostgreSQL connection pool as in production, Stripe
offline: for each kind of scan (the do-nothing /healthz as the reference; a Payment Link scan, the
first in the process and remembered ones; the held quantity page; a held submit turned away; a
held submit that gets a pooled session), `--scans` requests, then wall and CPU time per request
and queries per request. `--profile` adds a pyinstrument tree of the held submits turned away.
Uses its own database (default swagstore_bench_scan, BENCH_DB), created and migrated on first use,
its rows made afresh each run.
"""

import argparse
import logging
import os
import sys
import time

from stack import ROOT, django_on_own_database  # bench/stack.py (this script's folder is on the path)

sys.path.insert(0, str(ROOT))
DB_NAME = os.environ.get("BENCH_DB", "swagstore_bench_scan")


def prepare() -> None:
    os.environ.update({"DJANGO_SETTINGS_MODULE": "swagstore.settings.base", "REDIS_URL": "", "LOG_LEVEL": "ERROR",
                       "DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/{DB_NAME}", "ALLOWED_HOSTS": "testserver",
                       "DATABASE_POOL": "true", "STRIPE_SECRET_KEY": "", "TRUSTED_PROXY_COUNT": "1"})
    django_on_own_database(DB_NAME)
    from django.core.management import call_command

    call_command("flush", interactive=False, verbosity=0)


def products(scans: int):
    """A Payment Link product, a sold-out held product, and a held one with a unit and a ready
    session for every winner."""
    from inventory.models import Product, QrMode, Store
    from inventory.services import stock_increase
    from payments.checkout.session_pool import session_pool_fill
    from payments.gateway import get_gateway
    from payments.offline.simulator import offline_payment_link_shape

    def product(mode: str, units: int) -> Product:
        store = Store.objects.create(pk=f"store_CPU{mode[:4].upper()}{units}", name="CPU", qr_mode=QrMode(mode))
        link = mode == QrMode.PAYMENT_LINK
        made = Product.objects.create(store=store, stripe_product_id="prod_CPU", name="CPU tee", unit_amount=2500,
                                      stripe_price_id=f"price_cpu_{mode}{units}", currency="usd", max_per_checkout=1,
                                      payment_link_id="plink_cpu" if link else "",
                                      payment_link_url="https://buy.stripe.com/test_cpu" if link else "")
        if link:
            get_gateway().notebook_put(offline_payment_link_shape(product=made, url=made.payment_link_url))
        if units:
            stock_increase(product=made, quantity=units, source="bench-initial", reason="initial")
        return made

    winners = product("held_checkout", scans)
    session_pool_fill(product_id=winners.pk)
    return product("payment_link", 5), product("held_checkout", 0), winners


def measure(label: str, ask, scans: int) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        wall, cpu = time.perf_counter(), time.process_time()
        for n in range(scans):
            ask(n)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    print(f"| {label} | {1000 * wall / scans:.2f} | {1000 * cpu / scans:.2f} | "
          f"{len(queries.captured_queries) / scans:.1f} |")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scans", type=int, default=200)
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    if args.scans < 1:
        parser.error("--scans must be at least 1")
    prepare()
    logging.getLogger("django.request").setLevel(logging.ERROR)  # 409s are the point here
    from django.conf import settings
    from django.test import Client

    settings.HELD_CHECKOUT_POOL_SIZE = args.scans
    link, sold_out, winners = products(args.scans)
    client = Client()

    def address(n: int) -> dict:
        return {"HTTP_X_FORWARDED_FOR": f"10.{n // 65536 % 256}.{n // 256 % 256}.{n % 256}"}

    def submit(product, expect: int):
        def ask(n: int):
            # Each winner is a buyer of its own (a browser: its own cookie), as at the booth; one
            # browser would reach its cap of open checkouts after 3 and be measured being refused.
            answer = (Client() if expect == 303 else client).post(f"/q/{product.scan_code}/", {"quantity": "1"},
                                                                  **address(n))
            assert answer.status_code == expect, f"{product.scan_code}: {answer.status_code}, not {expect}"
        return ask

    print(f"{args.scans} requests each, one thread, Stripe offline")
    print("| request | wall ms | CPU ms | queries |")
    print("| --- | ---: | ---: | ---: |")
    measure("GET /healthz (reference)", lambda n: client.get("/healthz"), args.scans)
    # Each kind of scan twice: read every time (SCAN_CACHE_SECONDS=0), then from the process's memory
    # (payments/scan/remembered.py) as in a rush, where one read serves the scans of the next second.
    for seconds, how in ((0, "read every time"), (60, "remembered")):
        settings.SCAN_CACHE_SECONDS = seconds
        measure(f"Payment Link scan, {how}", lambda n: client.get(f"/q/{link.scan_code}/"), args.scans)
        measure(f"held: the quantity page, {how}", lambda n: client.get(f"/q/{winners.scan_code}/"), args.scans)
        measure(f"held: submit turned away (sold out), {how}", submit(sold_out, 409), args.scans)
    # Every winner's hold changes the stock, which makes this process forget what it remembered.
    measure("held: submit with a pooled session", submit(winners, 303), args.scans)
    if args.profile:
        from pyinstrument import Profiler

        profiler = Profiler(interval=0.0005)
        profiler.start()
        for n in range(args.scans):
            submit(sold_out, 409)(n)
        profiler.stop()
        print(profiler.output_text(show_all=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
