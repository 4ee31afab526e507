"""Bursts of simultaneous purchases against the last units, on PostgreSQL: throughput and exactness.

    .venv/bin/python bench/stock_burst.py [--buyers 200] [--units 20] [--threads 40]

Two scenarios, each on a fresh product, with the offline gateway (no network) so the figures are
the store's own: (1) Payment Link sales, signed checkout.session.completed webhooks through the
real dj-stripe view, fulfilment task run in-process; (2) our checkout, `checkout_start` holding
units. It prints requests per second and latency percentiles, and checks the invariants (exactly
`units` sold or held, stock never negative, ledger balanced); it exits non-zero if one fails.
Uses its own database (default swagstore_bench_stock), created and migrated on first use.
"""

import argparse
import os
import statistics
import subprocess
import sys
import time
import warnings
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DB_NAME = os.environ.get("BENCH_DB", "swagstore_bench_stock")
os.environ.update({"DJANGO_SETTINGS_MODULE": "swagstore.settings.base", "STRIPE_SECRET_KEY": "", "REDIS_URL": "",
                   "DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/{DB_NAME}", "LOG_LEVEL": "WARNING",
                   "ALLOWED_HOSTS": "testserver"})


def prepare_database() -> None:
    exists = subprocess.run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-Atc",
                             f"select 1 from pg_database where datname='{DB_NAME}'"], capture_output=True, text=True)
    if exists.stdout.strip() != "1":
        subprocess.run(["createdb", "-h", "127.0.0.1", "-U", "postgres", DB_NAME], check=True)
    subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v0"], cwd=ROOT, check=True)


def timed(fn, jobs, threads):
    from django.db import connection

    def run(job):
        started = time.perf_counter()
        try:
            return fn(job), time.perf_counter() - started
        finally:
            connection.close()

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=threads) as pool:
        results = list(pool.map(run, jobs))
    return results, time.perf_counter() - started


def new_product(units: int, tag: str):
    from inventory.models import Product, Store
    from inventory.services import stock_increase

    store, _ = Store.objects.get_or_create(pk="store_BENCH", defaults={"name": "Bench booth"})
    n = Product.objects.count() + 1
    product = Product.objects.create(store=store, stripe_product_id=f"prod_bench_{tag}_{n}", name=f"Bench {tag} {n}",
                                     unit_amount=1000, stripe_price_id=f"price_bench_{tag}_{n}",
                                     payment_link_id=f"plink_bench_{tag}_{n}",
                                     payment_link_url=f"https://example.invalid/{n}")
    from payments.gateway import get_gateway
    from payments.offline.simulator import offline_payment_link_shape

    get_gateway().notebook_put(offline_payment_link_shape(product=product, url=product.payment_link_url))
    stock_increase(product=product, quantity=units, source=f"bench:{product.pk}", reason="initial")
    return product


def payment_link_burst(buyers: int, units: int, threads: int):
    from django.test import Client
    from payments.endpoints import webhook_endpoint_configure, webhook_endpoint_path
    from payments.models import Order
    from payments.offline.simulator import checkout_session_completed

    endpoint, _ = webhook_endpoint_configure(secret="whsec_bench", site_url="http://testserver")
    url = webhook_endpoint_path(endpoint)
    product = new_product(units, "link")
    deliveries = [checkout_session_completed(product=product, quantity=1, capture_method="manual",
                                             secret="whsec_bench") for _ in range(buyers)]

    def post(delivery):
        response = Client().post(url, data=delivery.body, content_type="application/json",
                                 HTTP_STRIPE_SIGNATURE=delivery.signature)
        return response.status_code

    results, elapsed = timed(post, deliveries, threads)
    orders = Order.objects.filter(checkout_session_id__in=[d.session_id for d in deliveries])
    sold = orders.filter(status=Order.Status.FULFILLED).count()
    given_back = orders.filter(status__in=[Order.Status.CANCELLED, Order.Status.REFUNDED]).count()
    ok = [s for s, _ in results].count(200) == buyers and sold == units and given_back == buyers - units
    return product, results, elapsed, ok, f"{sold} sold, {given_back} cancelled/refunded"


def checkout_burst(buyers: int, units: int, threads: int):
    from inventory.exceptions import InsufficientStock
    from common.buyers import Buyer
    from payments.checkout.services import CheckoutRequestLine, checkout_start

    product = new_product(units, "checkout")

    def start(buyer):
        try:
            who = f"bench-buyer-{buyer}"
            checkout_start(lines=[CheckoutRequestLine(product.pk, 1)], buyer=Buyer(ref=who, address=who))
            return "held"
        except InsufficientStock:
            return "refused"

    results, elapsed = timed(start, range(buyers), threads)
    held = [r for r, _ in results].count("held")
    product = Product.objects.with_availability().get(pk=product.pk)
    ok = held == units and product.available == 0
    return product, results, elapsed, ok, f"{held} held, {buyers - held} refused with 409"


def report(name, product, results, elapsed, ok, detail):
    from inventory.selectors import stock_drift

    product.refresh_from_db()
    latencies = sorted(latency * 1000 for _, latency in results)
    p = lambda q: latencies[min(len(latencies) - 1, int(q * len(latencies)))]  # noqa: E731
    drift = [d for d in stock_drift() if d["product"].pk == product.pk]
    ok = ok and product.inventory >= 0 and not drift
    print(f"{name:<28} {len(results):>6} {len(results) / elapsed:>8.1f} {statistics.median(latencies):>8.1f} "
          f"{p(0.95):>8.1f} {latencies[-1]:>8.1f}  {'ok' if ok else 'FAILED'}: {detail}, stock {product.inventory}")
    return ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--buyers", type=int, default=200)
    parser.add_argument("--units", type=int, default=20)
    parser.add_argument("--threads", type=int, default=40, help="at most ~80: PostgreSQL allows 100 connections")
    args = parser.parse_args()
    if not (0 < args.units <= args.buyers and 0 < args.threads <= 80):
        parser.error("need 0 < units ≤ buyers and 0 < threads ≤ 80")
    prepare_database()
    import django

    warnings.filterwarnings("ignore", message="No directory at")
    django.setup()
    print(f"{args.buyers} buyers, {args.units} units, {args.threads} threads, PostgreSQL, offline gateway")
    print(f"{'scenario':<28} {'reqs':>6} {'req/s':>8} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8}")
    ok = report("payment link webhooks", *payment_link_burst(args.buyers, args.units, args.threads))
    ok = report("checkout starts (holds)", *checkout_burst(args.buyers, args.units, args.threads)) and ok
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
