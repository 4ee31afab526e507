#!/usr/bin/env python
"""200 buyers scan one product's QR code at once for 20 units, in each QR mode (issues 10, 23).

    .venv/bin/python bench/qr_burst.py [--buyers 200] [--units 20] [--concurrency 200]
        [--modes payment_link,held_checkout] [--stripe offline|fake] [--stripe-latency 300]
        [--stripe-jitter 100] [--stripe-rate-limit 25] [--web-processes 2]
        [--database swagstore_bench_qr] [--fresh-db] [--json figures.json] [--py-spy held.txt]
        [--env KEY=VALUE ...]

Runs the Procfile's web process (gunicorn with uvicorn workers, a connection pool each) on
PostgreSQL (--database, created and migrated on first use, flushed every run), tasks in-process.
Stripe is either offline (the offline gateway records every call it would make as a StripeCall
row) or, with --stripe fake, the Stripe fake (tests/fakes/stripe) in a process of its own, as slow
as real Stripe if asked: every POST takes --stripe-latency ± --stripe-jitter ms and requests past
--stripe-rate-limit per second get Stripe's 429. Either way the StripeCall rows are what is counted.
Each buyer is its own client address (X-Forwarded-For behind one trusted proxy), so the per-client
caps apply per buyer, as at a real booth.

reference      before each mode, --buyers do-nothing requests (GET /healthz: the same server,
               middleware and client, no database) at the same concurrency: what the machine allows
               right now. Compare a mode's figures with the reference beside it, not across runs.

payment_link   every buyer opens /q/<code>/ (timed: scan → 302 to the Payment Link), then pays on
               the link: a signed checkout.session.completed per buyer, manual capture, posted to
               the webhook. Figures: sold, paid then given back (refunds / cancellations).
held_checkout  every buyer opens /q/<code>/ (for the form and its CSRF token), then submits
               quantity 1 (timed: submit → 303 to the Checkout Session, or → 409 "gone");
               each buyer who got a session pays on the simulated hosted page.

Prints one row per mode with its reference; exits 1 if an invariant fails (stock 0, sold = units, held mode: no
refund, no cancellation, no session for a turned-away buyer; then reconcile_stock passes).
--py-spy samples the web workers during the held-mode scans (collapsed stacks, one file per worker).
"""

import argparse
import asyncio
import json
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from multiprocessing.managers import BaseManager
from pathlib import Path

from stack import ROOT, free_port, needs, prepare_database  # bench/stack.py (this script's folder is on the path)

aiohttp = needs("aiohttp")

sys.path.insert(0, str(ROOT))
from tests.fakes.stripe import StripeFake, event, signed  # noqa: E402
from tests.fakes.stripe.pacing import pace  # noqa: E402

PG = "postgres://postgres@127.0.0.1:5432/"
SECRET = "whsec_bench_qr"
CSRF = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


def bench_env(database: str, site_url: str, extra: list[str], *, stripe_url: str = "") -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("STRIPE_", "DATABASE_", "REDIS_"))}
    env.update(DJANGO_SETTINGS_MODULE="swagstore.settings.base", DATABASE_URL=PG + database, SITE_URL=site_url,
               STRIPE_WEBHOOK_SECRET=SECRET, SECRET_KEY="bench-" + "x" * 50, DEBUG="0",
               ALLOWED_HOSTS="127.0.0.1,localhost", CELERY_TASK_ALWAYS_EAGER="true", TRUSTED_PROXY_COUNT="1",
               LOG_LEVEL="WARNING", PYTHONUNBUFFERED="1", DATABASE_POOL="true")
    if stripe_url:
        env.update(STRIPE_SECRET_KEY="sk_test_bench_qr", STRIPE_API_BASE=stripe_url, STRIPE_TIMEOUT_SECONDS="10")
    env.update(item.split("=", 1) for item in extra)
    return env


# ------------------------------------------------------------------ the Stripe fake, own process

class QrFake(StripeFake):
    """The fake, with what this bench asks of it in one call each (through the manager's proxy)."""

    def pay_link(self, *, session: dict, intent: dict) -> None:
        """A completed Payment Link session the store will read (built by the offline simulator)."""
        self.add_payment_intent(intent["id"], amount=intent["amount"], currency=intent["currency"],
                                status=intent["status"], capture_method=intent["capture_method"])
        item = session["line_items"]["data"][0]
        self.add_checkout_session(session["id"], payment_intent=intent["id"], payment_link=session["payment_link"],
                                  metadata=session["metadata"], payment_status=session["payment_status"],
                                  line_items=[{"price": item["price"]["id"], "product": item["price"]["product"],
                                               "quantity": item["quantity"],
                                               "unit_amount": item["price"]["unit_amount"]}])

    def pay_session(self, session_id: str, secret: str) -> tuple[str, str]:
        """The buyer pays a held checkout's session: its signed checkout.session.completed."""
        delivery = signed(event("checkout.session.completed", self.complete_session(session_id)), secret)
        return delivery.body, delivery.signature


class FakeManager(BaseManager):
    pass


FakeManager.register("Fake", QrFake)


def start_fake(args) -> tuple[FakeManager, object]:
    manager = FakeManager()
    manager.start()
    fake = manager.Fake()
    pace(fake, create_ms=args.stripe_latency, jitter_ms=args.stripe_jitter, rate_limit=args.stripe_rate_limit)
    return manager, fake


def start_web(env: dict, port: int, processes: int, rundir: Path) -> subprocess.Popen:
    log = open(rundir / "web.log", "w")
    web = subprocess.Popen([str(Path(sys.executable).parent / "gunicorn"), "swagstore.asgi:application", "-k",
                            "uvicorn_worker.UvicornWorker", "--workers", str(processes), "--bind",
                            f"127.0.0.1:{port}"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return web
        except OSError:
            time.sleep(0.2)
    web.kill()
    sys.exit(f"the web server did not start (see {rundir / 'web.log'})")


# ------------------------------------------------------------------ the buyers

async def link_buyer(session: aiohttp.ClientSession, base: str, code: str, n: int) -> float:
    started = time.perf_counter()
    async with session.get(f"{base}/q/{code}/", headers=_client(n), allow_redirects=False) as answer:
        assert answer.status == 302, f"scan answered {answer.status}"
    return time.perf_counter() - started


async def held_buyer(base: str, code: str, n: int) -> tuple[int, float, str]:
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as session:
        async with session.get(f"{base}/q/{code}/", headers=_client(n)) as page:
            token = _csrf(page.status, await page.text())
        started = time.perf_counter()
        async with session.post(f"{base}/q/{code}/", data={"quantity": "1", "csrfmiddlewaretoken": token},
                                headers={**_client(n), "Referer": f"{base}/q/{code}/"},
                                allow_redirects=False) as answer:
            took = time.perf_counter() - started
            return answer.status, took, answer.headers.get("Location", "")


async def held_pay(base: str, session_url: str) -> int:
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as session:
        async with session.get(session_url) as page:
            token = _csrf(page.status, await page.text())
        async with session.post(session_url, data={"action": "pay", "csrfmiddlewaretoken": token},
                                headers={"Referer": session_url}, allow_redirects=False) as answer:
            return answer.status


def _csrf(status: int, html: str) -> str:
    found = CSRF.search(html)
    if found is None:
        raise RuntimeError(f"no form on the page (HTTP {status}): {html[:300]!r}")
    return found.group(1)


def _client(n: int) -> dict:
    return {"X-Forwarded-For": f"10.{n // 65536 % 256}.{n // 256 % 256}.{n % 256}"}


async def nothing(session: aiohttp.ClientSession, base: str, n: int) -> float:
    started = time.perf_counter()
    async with session.get(f"{base}/healthz", headers=_client(n)) as answer:
        assert answer.status == 200, f"/healthz answered {answer.status}"
        await answer.read()
    return time.perf_counter() - started


def run_reference(args, base: str, web: subprocess.Popen | None = None) -> dict:
    """The do-nothing request, as many and as concurrent as the buyers: the figure beside each mode."""
    async def crowd():
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:
            return await bounded([nothing(session, base, n) for n in range(args.buyers)], args.concurrency)

    cpu = web_cpu_seconds(web)
    ordered = sorted(asyncio.run(crowd()))
    return {"p50_ms": 1000 * statistics.median(ordered), "p99_ms": 1000 * ordered[int(0.99 * (len(ordered) - 1))],
            "cpu_ms": 1000 * (web_cpu_seconds(web) - cpu) / args.buyers}


def web_cpu_seconds(web: subprocess.Popen | None) -> float:
    """CPU time (user + system) the web workers have used so far: what a phase cost the server,
    whatever else the machine was doing meanwhile."""
    if web is None:
        return 0.0
    pids = subprocess.run(["pgrep", "-P", str(web.pid)], capture_output=True, text=True).stdout.split()
    ticks = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        ticks += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of proc(5))
    return ticks / os.sysconf("SC_CLK_TCK")


def warm_up(base: str, codes: list[str]) -> None:
    """A booth's web processes have served pages before the keynote: each worker's first requests
    fill its connection pool and compile the pages' templates. Not timed."""
    async def crowd():
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:
            async def one(n, code):
                async with session.get(f"{base}/q/{code}/", headers=_client(n), allow_redirects=False) as answer:
                    await answer.read()
            await bounded([one(n, code) for code in codes for n in range(40)], 8)

    asyncio.run(crowd())


async def bounded(tasks, limit: int):
    gate = asyncio.Semaphore(limit)

    async def run(task):
        async with gate:
            return await task

    return await asyncio.gather(*(run(t) for t in tasks))


# ------------------------------------------------------------------ the two modes
# Django is set up in main() only once the bench's environment is in place, so the functions below
# import the project's modules themselves.

def seed(mode: str, units: int, fake=None, *, tag: str = ""):
    """One product in a store of its own, in `mode`; in link mode its Payment Link is in the offline
    notebook (or at the fake), where settlement switches it off at zero as it would at Stripe."""
    from inventory.models import Product, QrMode, Store
    from inventory.services import stock_increase
    from payments.gateway import get_gateway
    from payments.offline.simulator import offline_payment_link_shape

    store = Store.objects.create(pk=f"store_QR{mode[:4].upper()}{tag}", name=f"QR bench ({mode})",
                                 qr_mode=QrMode(mode))
    link = mode == QrMode.PAYMENT_LINK
    product = Product.objects.create(store=store, stripe_product_id="prod_QRBench", name="Bench tee",
                                     stripe_price_id=f"price_qr_{mode}{tag}", unit_amount=2500, currency="usd",
                                     max_per_checkout=1, payment_link_id=f"plink_qr_{mode}{tag}" if link else "",
                                     payment_link_url=f"https://buy.stripe.com/test_qr_{mode}{tag}" if link else "")
    if fake is not None:
        fake.add_price(product.stripe_price_id, product=product.stripe_product_id, unit_amount=product.unit_amount)
        if link:
            fake.add_payment_link(product.payment_link_id, price=product.stripe_price_id, url=product.payment_link_url,
                                  capture_method="manual")
    elif link:
        get_gateway().notebook_put(offline_payment_link_shape(product=product, url=product.payment_link_url))
    stock_increase(product=product, quantity=units, source="bench-initial", reason="initial")
    return product


def webhook_url(base: str) -> tuple[str, str]:
    """Where Stripe posts, and the secret it signs with."""
    from payments.endpoints import webhook_endpoint_local, webhook_endpoint_path

    endpoint = webhook_endpoint_local()
    return base + webhook_endpoint_path(endpoint), endpoint.secret


def run_link_mode(args, base: str, web: subprocess.Popen, fake=None) -> dict:
    from payments.offline.simulator import checkout_session_completed

    reference = run_reference(args, base, web)
    product, calls_before = seed("payment_link", args.units, fake), stripe_calls()
    url, secret = webhook_url(base)
    cpu = web_cpu_seconds(web)

    async def crowd():
        # No client-side connection cap: each buyer is a phone of its own.
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:
            return await bounded([link_buyer(session, base, product.scan_code, n) for n in range(args.buyers)],
                                 args.concurrency)

    latencies = asyncio.run(crowd())
    cpu_ms = 1000 * (web_cpu_seconds(web) - cpu) / args.buyers
    # Every buyer reached the link before anyone's payment landed: all of them pay.
    deliveries = [checkout_session_completed(product=product, quantity=1, capture_method="manual", secret=secret)
                  for _ in range(args.buyers)]
    if fake is not None:
        for delivery in deliveries:
            fake.pay_link(**_link_payment(delivery.body, product))
    statuses = asyncio.run(_post_all([(d.body, d.signature) for d in deliveries], url, args.webhook_concurrency))
    assert all(s == 200 for s in statuses), f"webhook answers: {sorted(set(statuses))}"
    row = figures("payment_link", product, latencies, turned_away=0, calls_before=calls_before, reference=reference)
    return {**row, "queries": scan_queries("payment_link", fake), "cpu_ms": cpu_ms}


def _link_payment(body: str, product) -> dict:
    """The session and PaymentIntent a signed Payment Link delivery speaks of, for the fake to hold."""
    session = json.loads(body)["data"]["object"]
    price = {"id": product.stripe_price_id, "product": product.stripe_product_id, "unit_amount": product.unit_amount}
    return {"session": {**session, "line_items": {"data": [{"price": price, "quantity": 1}]}},
            "intent": {"id": session["payment_intent"], "amount": session["amount_total"],
                       "currency": session["currency"], "status": "requires_capture", "capture_method": "manual"}}


async def _post_all(deliveries: list[tuple[str, str]], url: str, limit: int) -> list[int]:
    async def post(session: aiohttp.ClientSession, body: str, signature: str) -> int:
        async with session.post(url, data=body.encode(), headers={"Content-Type": "application/json",
                                                                  "Stripe-Signature": signature}) as answer:
            await answer.read()
            return answer.status

    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:
        return await bounded([post(session, body, signature) for body, signature in deliveries], limit)


def run_held_mode(args, base: str, web: subprocess.Popen, fake=None) -> dict:
    reference = run_reference(args, base, web)
    product, calls_before = seed("held_checkout", args.units, fake), stripe_calls()
    pool_fill(product)
    spies = profile(web, args.py_spy) if args.py_spy else []
    cpu = web_cpu_seconds(web)
    results = asyncio.run(bounded([held_buyer(base, product.scan_code, n) for n in range(args.buyers)],
                                  args.concurrency))
    cpu_ms = 1000 * (web_cpu_seconds(web) - cpu) / args.buyers
    for spy in spies:
        spy.send_signal(signal.SIGINT)  # py-spy writes its file on SIGINT
        spy.wait(timeout=60)
    winners = [location for status, _, location in results if status == 303]
    turned_away = sum(1 for status, _, _ in results if status == 409)
    other = sorted({status for status, _, _ in results} - {303, 409})
    assert not other, f"unexpected answers to a scan: {other}"
    if fake is None:
        paid = asyncio.run(bounded([held_pay(base, url) for url in winners], args.concurrency))
        assert all(s == 302 for s in paid), f"pay answers: {sorted(set(paid))}"
    else:  # the buyers pay on Stripe's page: Stripe completes each session and tells the webhook
        url, secret = webhook_url(base)
        deliveries = [fake.pay_session(location.rsplit("/", 1)[-1], secret) for location in winners]
        statuses = asyncio.run(_post_all(deliveries, url, args.webhook_concurrency))
        assert all(s == 200 for s in statuses), f"webhook answers: {sorted(set(statuses))}"
    row = figures("held_checkout", product, [took for _, took, _ in results], turned_away=turned_away,
                  calls_before=calls_before, reference=reference)
    won = sorted(took for status, took, _ in results if status == 303)
    return {**row, "queries": scan_queries("held_checkout", fake), "cpu_ms": cpu_ms,
            "winners_p50_ms": 1000 * statistics.median(won), "winners_max_ms": 1000 * won[-1]}


def pool_fill(product) -> None:
    """Ahead of the rush, as the beat's fill does (none with HELD_CHECKOUT_POOL_SIZE=0)."""
    from payments.checkout.session_pool import session_pool_fill

    if product.store.qr_mode == "held_checkout":
        print(f"session pool: {session_pool_fill(product_id=product.pk)}", flush=True)


def scan_queries(mode: str, fake=None) -> dict:
    """The queries one scan runs, counted in this process (Django's test client: the web's settings,
    code and database, no server), as in the rush: each buyer's submit follows their own look at the
    quantity page. A link scan; a held submit that gets a unit (20 left); one turned away (none
    left). BEGIN and COMMIT count, as the round trips they are."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    def count(ask) -> int:
        with CaptureQueriesContext(connection) as queries:
            ask()
        return len(queries.captured_queries)

    if mode == "payment_link":
        url = f"/q/{seed(mode, 1, fake, tag='Q').scan_code}/"
        client = Client(HTTP_HOST="127.0.0.1")
        client.get(url, **_wsgi(_client(1)))
        return {"scan": count(lambda: client.get(url, **_wsgi(_client(2))))}
    plenty, last = seed(mode, 20, fake, tag="Q"), seed(mode, 1, fake, tag="Q1")
    pool_fill(plenty)
    counted = {}
    for who, product, n in (("winner", plenty, 1), ("turned away", last, 3)):
        url = f"/q/{product.scan_code}/"
        if who == "turned away":  # somebody else holds the last unit first
            Client(HTTP_HOST="127.0.0.1").post(url, {"quantity": "1"}, **_wsgi(_client(n - 1)))
        client = Client(HTTP_HOST="127.0.0.1")
        client.get(url, **_wsgi(_client(n)))
        counted[who] = count(lambda: client.post(url, {"quantity": "1"}, **_wsgi(_client(n))))
    return counted


def _wsgi(headers: dict) -> dict:
    return {"HTTP_" + name.upper().replace("-", "_"): value for name, value in headers.items()}


def profile(web: subprocess.Popen, target: str) -> list[subprocess.Popen]:
    workers = subprocess.run(["pgrep", "-P", str(web.pid)], capture_output=True, text=True).stdout.split()
    return [subprocess.Popen([str(Path(sys.executable).parent / "py-spy"), "record", "--nonblocking", "--format", "raw", "--rate", "200",
                              "-o", f"{target}.{pid}", "--pid", pid], stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL) for pid in workers]


def stripe_calls() -> dict[str, int]:
    from django.db.models import Count

    from payments.models import StripeCall

    return dict(StripeCall.objects.values_list("operation").annotate(n=Count("id")))


def figures(mode: str, product, latencies: list[float], *, turned_away: int, calls_before: dict,
            reference: dict) -> dict:
    from inventory.models import Product, StockMovement
    from payments.settlement.runner import settlement_drain

    settlement_drain(seconds=120)  # whatever the web process left for a later bell
    product = Product.objects.get(pk=product.pk)
    calls = {op: n - calls_before.get(op, 0) for op, n in stripe_calls().items()}
    sold = -sum(StockMovement.objects.filter(product=product, delta__lt=0).values_list("delta", flat=True))
    ordered = sorted(latencies)
    return {"mode": mode, "buyers": len(latencies), "sold": sold, "stock_left": product.inventory,
            "turned_away": turned_away, "cancellations": calls.get("payment_intent.cancel", 0),
            "refunds": calls.get("refund.create", 0), "sessions": calls.get("checkout.session.create", 0),
            "p50_ms": 1000 * statistics.median(ordered), "p99_ms": 1000 * ordered[int(0.99 * (len(ordered) - 1))],
            "reference_p50_ms": reference["p50_ms"], "reference_p99_ms": reference["p99_ms"],
            "reference_cpu_ms": reference["cpu_ms"]}


MODES = ("payment_link", "held_checkout")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--buyers", type=int, default=200)
    parser.add_argument("--units", type=int, default=20)
    parser.add_argument("--concurrency", type=int, default=200)
    parser.add_argument("--modes", default=",".join(MODES), help=f"comma-separated, of {', '.join(MODES)}")
    parser.add_argument("--stripe", choices=("offline", "fake"), default="offline",
                        help="the offline gateway (default) or the Stripe fake in a process of its own")
    parser.add_argument("--stripe-latency", type=float, default=0, metavar="MS",
                        help="with --stripe fake: each POST to Stripe takes this long (real creates: ~300)")
    parser.add_argument("--stripe-jitter", type=float, default=None, metavar="MS",
                        help="± this much, uniformly (default a third of the latency)")
    parser.add_argument("--stripe-rate-limit", type=float, default=25, metavar="PER_S",
                        help="with --stripe fake: 429 past this rate (default 25, Stripe's test mode)")
    parser.add_argument("--webhook-concurrency", type=int, default=32,
                        help="signed payments posted at once after the scans (not timed; default 32)")
    parser.add_argument("--web-processes", type=int, default=2)
    parser.add_argument("--database", default="swagstore_bench_qr")
    parser.add_argument("--fresh-db", action="store_true")
    parser.add_argument("--json", help="write the figures here too")
    parser.add_argument("--env", action="append", default=[], metavar="KEY=VALUE",
                        help="an extra setting for the web processes (e.g. DATABASE_POOL_MAX_SIZE=20)")
    parser.add_argument("--py-spy", metavar="PATH", help="profile the web workers during the held-mode scans")
    args = parser.parse_args()
    modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    if not 0 < args.units < args.buyers:
        parser.error("need 0 < --units < --buyers")
    if not modes or set(modes) - set(MODES):
        parser.error(f"--modes takes {', '.join(MODES)}")
    if args.stripe == "offline" and args.stripe_latency:
        parser.error("--stripe-latency needs --stripe fake")
    if args.stripe_jitter is None:
        args.stripe_jitter = args.stripe_latency / 3

    manager, fake = start_fake(args) if args.stripe == "fake" else (None, None)
    try:
        rows, rundir, env = run(args, modes, fake)
    finally:
        if manager is not None:
            manager.shutdown()
    report(args, rows, rundir, env)


def run(args, modes: list[str], fake) -> tuple[list[dict], Path, dict]:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = bench_env(args.database, base, args.env, stripe_url=fake.start() if fake is not None else "")
    prepare_database(env, args.database, args.fresh_db, then=(["stripe_endpoint"],))
    os.environ.update(env)
    import django

    django.setup()
    rundir = Path(tempfile.mkdtemp(prefix="qr_burst."))
    web = start_web(env, port, args.web_processes, rundir)
    try:
        run_reference(args, base)
        warm_up(base, [seed(mode, 1, fake, tag="W").scan_code for mode in MODES])
        rows = [run_link_mode(args, base, web, fake) if mode == "payment_link" else run_held_mode(args, base, web, fake)
                for mode in modes]
    finally:
        web.terminate()
        web.wait(timeout=30)
    return rows, rundir, env


def report(args, rows: list[dict], rundir: Path, env: dict) -> None:
    stripe = (f"Stripe fake, POSTs {args.stripe_latency:.0f} ± {args.stripe_jitter:.0f} ms, 429 past "
              f"{args.stripe_rate_limit:g}/s" if args.stripe == "fake" else "Stripe offline")
    print(f"{args.buyers} buyers, {args.units} units, concurrency {args.concurrency}, {args.web_processes} web "
          f"processes, {stripe} (logs: {rundir})")
    print("| mode | sold | turned away before paying | paid, then cancelled / refunded | sessions created "
          "| scan → redirect p50 / p99 | reference (do-nothing GET) p50 / p99 | web CPU per buyer (reference) "
          "| queries per scan |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for r in rows:
        print(f"| {r['mode']} | {r['sold']} | {r['turned_away']} | {r['cancellations']} / {r['refunds']} "
              f"| {r['sessions']} | {r['p50_ms']:.0f} / {r['p99_ms']:.0f} ms "
              f"| {r['reference_p50_ms']:.0f} / {r['reference_p99_ms']:.0f} ms "
              f"| {r['cpu_ms']:.1f} ms ({r['reference_cpu_ms']:.1f} ms) "
              f"| {', '.join(f'{who} {n}' for who, n in r['queries'].items())} |")
    for r in rows:
        if "winners_p50_ms" in r:
            print(f"held checkout, the {r['sold']} buyers who got units: submit → Stripe's page p50 "
                  f"{r['winners_p50_ms']:.0f} ms, slowest {r['winners_max_ms']:.0f} ms")
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2))
    failed = [m for m, ok in checks(args, {r["mode"]: r for r in rows}) if not ok]
    done = subprocess.run([sys.executable, "manage.py", "reconcile_stock"], cwd=ROOT, env=env, capture_output=True,
                          text=True)
    if done.returncode:
        failed.append(f"reconcile_stock: {done.stdout}{done.stderr}".strip())
    if failed:
        sys.exit("FAILED: " + "; ".join(failed))


def checks(args, rows: dict) -> list[tuple[str, bool]]:
    found = [(f"{mode}: every unit sold, no stock left", r["sold"] == args.units and r["stock_left"] == 0)
             for mode, r in rows.items()]
    if link := rows.get("payment_link"):
        found.append(("link mode gave back every oversold payment",
                      link["cancellations"] + link["refunds"] == args.buyers - args.units))
    if held := rows.get("held_checkout"):
        found += [
            ("held mode: no refund, no cancellation", held["cancellations"] == held["refunds"] == 0),
            ("held mode: every other buyer turned away before paying", held["turned_away"] == args.buyers - args.units),
            ("held mode: a session only for a buyer with units", held["sessions"] == args.units),
        ]
    return found


if __name__ == "__main__":
    main()
