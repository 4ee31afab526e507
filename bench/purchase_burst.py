#!/usr/bin/env python
"""A burst of Payment Link purchases of ONE product on the real stack: ingest, apply, page, Stripe.

    .venv/bin/python bench/purchase_burst.py [--purchases 1000] [--units 100] [--concurrency 32]
        [--server gunicorn|granian|uvicorn|daphne] [--web-processes 1] [--worker-concurrency 2]
        [--phases live,drain] [--timeout 300] [--database NAME] [--fresh-db] [--env KEY=VALUE]
        [--py-spy web.txt] [--metrics SECONDS] [--json figures.json]

Starts the Procfile's processes (web: gunicorn with UvicornWorker, or granian (ASGI, WebSockets
on), uvicorn or daphne to compare; a Celery worker and beat) on PostgreSQL (--database, default
swagstore_bench_burst, created and migrated on first use, flushed every run; --fresh-db drops it
first), Redis DB 12 (or $BENCH_REDIS_URL) with a queue and channel prefix of its own ($BENCH_QUEUE),
and the Stripe fake (tests/fakes/stripe) in a process of its own, holding the PaymentIntents.
Before the phases, the reference: N do-nothing requests (GET answered 404) through the same server
and client at the same concurrency, so the webhooks/s figure reads against what the server does alone.
Each purchase is a paid single-line Payment Link session (automatic capture, 1 unit, amount_subtotal
= unit price, usd); its checkout.session.completed event is signed (tests/fakes/stripe/events.py) and
posted with aiohttp, `--concurrency` at a time, to /stripe/webhook/<uuid>/. A non-2xx answer or a
connection error is retried, re-signed, after 0.25 s doubling (at most 8 attempts) and counted.

Phases, each on a fresh product with `--units` K in stock and `--purchases` N > K sessions:
  live   worker running. Webhooks accepted/s (first post sent → last 2xx); sales applied/s end to
         end (first post sent → last Order created); post → page latency: for j = 1..K, from the
         j-th 2xx (and from the j-th post sent) to the first message on the product's feed
         /ws/stock/<store>/<product>/ showing stock ≤ K − j, split at the j-th fulfilled Order's
         created_at; Stripe calls per purchase, by path.
  drain  all N posted while the worker waits on the product's row lock (held by this script with
         SELECT … FOR UPDATE), then released: Orders created/s from the release to the last Order
         created. (Stopping and restarting the worker would time Celery's start-up instead.)
With --metrics S, every process shares one PROMETHEUS_MULTIPROC_DIR and this script scrapes the first
web process's /metrics (with METRICS_TOKEN) every S seconds during each phase: the intake backlog and
the oldest ready event's age as they rise and fall, and the sales counted, beside the time of a
/healthz request (a do-nothing request) and of the scrape itself.
Also pgbench's tps for `UPDATE t SET q = q - 1 WHERE id = 1 AND q >= 1` on a one-row table in
the same database (-c 8 -j 2 -T 5), and sales/s ÷ that tps.

Invariants, per phase (exit 1 if one fails): every delivery accepted; exactly K Orders fulfilled
and N − K refunded; each refunded session's PaymentIntent refunded exactly once at the fake and
no other; stock 0; the page showed 0 (live); then `manage.py reconcile_stock` exits 0.
Every process it starts is stopped on the way out; logs stay in the printed run directory.
"""

import argparse
import asyncio
import json
import os
import re
import secrets
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from multiprocessing.managers import BaseManager
from pathlib import Path

from stack import ROOT, free_port, needs, psql  # bench/stack.py: this script's folder is on the path
from stack import prepare_database as prepare_stack_database

aiohttp = needs("aiohttp")

sys.path.insert(0, str(ROOT))
from tests.fakes.stripe import StripeFake, events  # noqa: E402
from tests.metrics import metric_samples, metric_value  # noqa: E402

PG = "postgres://postgres@127.0.0.1:5432/"
# BENCH_REDIS_URL / BENCH_QUEUE: when several people share the machine, each their own.
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/12")
QUEUE = PREFIX = os.environ.get("BENCH_QUEUE", "swagstore-bench-burst")
SECRET = "whsec_bench_burst"
UNIT_AMOUNT = 2500
MAX_ATTEMPTS = 8
BIN = Path(sys.executable).parent
ID_IN_PATH = re.compile(r"/(?:cs|pi|plink|re|ch|pm|li|prod|price)_\w+")
PGBENCH_SQL = "UPDATE bench_pgbench_counter SET q = q - 1 WHERE id = 1 AND q >= 1;\n"
METRICS_TOKEN = "bench-metrics-" + secrets.token_hex(8)


# ------------------------------------------------------------------ the Stripe fake, own process

class BenchFake(StripeFake):
    def add_purchases(self, purchases: list[dict]) -> None:
        for p in purchases:
            self.add_payment_intent(p["intent"], amount=UNIT_AMOUNT, status="succeeded", capture_method="automatic")
            self.add_checkout_session(p["session"], payment_intent=p["intent"], payment_link=p["link"],
                                      metadata={"store_id": p["store"]},
                                      line_items=[{"price": p["price"], "product": p["product"], "quantity": 1,
                                                   "unit_amount": UNIT_AMOUNT, "currency": "usd"}])

    def log_marker(self) -> dict:
        return {m: len(self.calls(m, ".*")) for m in ("GET", "POST", "DELETE")}

    def log_since(self, marker: dict) -> list[dict]:
        keep = ("method", "path", "status", "replayed")
        return [{**{k: e[k] for k in keep}, "intent": e["params"].get("payment_intent")}
                for m, start in marker.items() for e in self.calls(m, ".*")[start:]]


class FakeManager(BaseManager):
    pass


FakeManager.register("Fake", BenchFake)


# ------------------------------------------------------------------ processes

class Service:
    """One child process (in a session of its own), output to a log file; stop() always ends it."""

    def __init__(self, name: str, command: list[str], env: dict, rundir: Path):
        self.name, self.log_path = name, rundir / f"{name}.log"
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                                            start_new_session=True)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_for(self, ready, timeout: float, what: str) -> float:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited ({self.process.returncode}):\n{self.log()[-3000:]}")
            if ready():
                return time.time()
            time.sleep(0.05)
        raise RuntimeError(f"{self.name}: no {what} within {timeout}s:\n{self.log()[-3000:]}")

    def stop(self, timeout: float = 30) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)  # its own group: the workers it forked
                self.process.wait(10)


def web_commands(server: str, processes: int) -> list[tuple[list[str], int]]:
    """(command, port) per process to start: Daphne is one process per port, the others pre-fork."""
    app = "swagstore.asgi:application"
    if server == "daphne":
        ports = [free_port() for _ in range(processes)]
        return [([str(BIN / "daphne"), "--proxy-headers", "-b", "127.0.0.1", "-p", str(p), app], p) for p in ports]
    port = free_port()
    if server == "uvicorn":
        return [([str(BIN / "uvicorn"), app, "--host", "127.0.0.1", "--port", str(port), "--workers", str(processes),
                  "--proxy-headers", "--no-access-log", "--lifespan", "off", "--log-level", "warning"], port)]
    if server == "granian":
        return [([str(BIN / "granian"), "--interface", "asgi", "--workers", str(processes), "--host", "127.0.0.1",
                  "--port", str(port), "--ws", "--log-level", "warning", app], port)]
    return [([str(BIN / "gunicorn"), app, "-k", "uvicorn_worker.UvicornWorker", "-w", str(processes),
              "-b", f"127.0.0.1:{port}", "--log-level", "warning"], port)]


def answers_http(url: str) -> bool:
    import urllib.error
    import urllib.request

    try:
        urllib.request.urlopen(url, timeout=2).close()
    except urllib.error.HTTPError:
        return True
    except OSError:
        return False
    return True


def start_web(b) -> tuple[list[Service], list[str]]:
    services, urls = [], []
    for i, (command, port) in enumerate(web_commands(b.args.server, b.args.web_processes)):
        service = Service(f"web{i}-{b.args.server}", command, b.env, b.rundir)
        b.stack.callback(service.stop)
        url = f"http://127.0.0.1:{port}"
        service.wait_for(lambda url=url: answers_http(url + "/"), 60, "HTTP answer")
        services.append(service)
        urls.append(url)
    return services, urls


def start_worker(b) -> Service:
    """The Procfile's workers on the bench queues (queue names derived from CELERY_QUEUE as the app
    does): `sales` with --worker-concurrency, and `stripe` and `notify` as one process (a small
    deploy), each once it logged "ready."; returns the sales worker."""
    workers = []
    for name, queues, concurrency in (("worker", f"{QUEUE}-sales", b.args.worker_concurrency),
                                      ("worker-other", f"{QUEUE},{QUEUE}-stripe,{QUEUE}-notify", 2)):
        command = [str(BIN / "celery"), "-A", "swagstore", "worker", "--loglevel=info", "-n", f"{name}@%h",
                   f"--concurrency={concurrency}", "-Q", queues]
        worker = Service(name, command, b.env, b.rundir)
        b.stack.callback(worker.stop)
        workers.append(worker)
    for worker in workers:
        worker.wait_for(lambda w=worker: " ready." in w.log(), 90, "'ready.' line")
    return workers[0]


# ------------------------------------------------------------------ database, data, checks

def app_env(fake_url: str, database: str, extra: list[str], metrics_dir: Path | None) -> dict:
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_ALLOW_ASYNC_UNSAFE"}
    if metrics_dir:
        env.update(PROMETHEUS_MULTIPROC_DIR=str(metrics_dir), METRICS_TOKEN=METRICS_TOKEN)
    env.update(DJANGO_SETTINGS_MODULE="swagstore.settings.base", DATABASE_URL=PG + database, REDIS_URL=REDIS_URL,
               CELERY_QUEUE=QUEUE, CHANNEL_PREFIX=PREFIX, STRIPE_SECRET_KEY="sk_test_standin",
               STRIPE_API_BASE=fake_url, STRIPE_TIMEOUT_SECONDS="10", SECRET_KEY="bench-" + "x" * 50,
               ALLOWED_HOSTS="127.0.0.1,localhost", LOG_LEVEL="WARNING", CELERY_TASK_ALWAYS_EAGER="false",
               PYTHONUNBUFFERED="1")
    env.update(item.split("=", 1) for item in extra)
    return env


def prepare_database(env: dict, name: str, fresh: bool) -> None:
    """The bench database (bench/stack.py), and Redis DB 12 emptied, so every run starts alike."""
    prepare_stack_database(env, name, fresh)
    subprocess.run(["redis-cli", "-u", env["REDIS_URL"], "flushdb"], check=True, capture_output=True, timeout=30)


def pgbench_tps(rundir: Path, database: str, seconds: int = 5) -> float:
    psql("create table if not exists bench_pgbench_counter (id int primary key, q bigint not null);"
         "insert into bench_pgbench_counter values (1, 1000000000) on conflict (id) do update set q = excluded.q",
         database)
    script = rundir / "pgbench.sql"
    script.write_text(PGBENCH_SQL)
    out = subprocess.run(["pgbench", "-h", "127.0.0.1", "-U", "postgres", "-n", "-f", str(script), "-c", "8",
                          "-j", "2", "-T", str(seconds), database], capture_output=True, text=True,
                         timeout=seconds + 60, check=True).stdout
    return float(re.search(r"tps = ([\d.]+) \(without initial connection time\)", out).group(1))


def webhook_path() -> str:
    from payments.endpoints import webhook_endpoint_configure, webhook_endpoint_path

    endpoint, _ = webhook_endpoint_configure(secret=SECRET, site_url="http://127.0.0.1")
    return webhook_endpoint_path(endpoint)


@dataclass
class Purchases:
    product_id: int
    feed_path: str
    sessions: list[str]
    intents: dict[str, str]  # session → PaymentIntent
    bodies: list[str]


def arrange(fake, *, units: int, purchases: int, tag: str) -> Purchases:
    """A product with a Payment Link at the fake and `units` in stock, and N paid sessions."""
    from inventory.models import Product, Store
    from inventory.services import stock_increase

    store, _ = Store.objects.get_or_create(pk="store_BURST", defaults={"name": "Burst booth"})
    n = f"{tag}_{secrets.token_hex(4)}"
    product = Product.objects.create(store=store, stripe_product_id=f"prod_burst_{n}", name=f"Burst {n}",
                                     unit_amount=UNIT_AMOUNT, currency="usd", stripe_price_id=f"price_burst_{n}",
                                     payment_link_id=f"plink_burst_{n}", inventory=0,
                                     payment_link_url=f"https://buy.stripe.com/test_burst_{n}")
    fake.add_payment_link(product.payment_link_id, price=product.stripe_price_id, url=product.payment_link_url,
                             completed_count=0, limit=units)
    stock_increase(product=product, quantity=units, source=f"bench-burst:{product.pk}", reason="initial")
    rows = [{"session": f"cs_test_{secrets.token_hex(12)}", "intent": f"pi_{secrets.token_hex(12)}",
             "link": product.payment_link_id, "store": store.pk, "price": product.stripe_price_id,
             "product": product.stripe_product_id} for _ in range(purchases)]
    fake.add_purchases(rows)
    bodies = [events.body_of(events.checkout_session_completed(session_id=r["session"], payment_intent=r["intent"],
                                                 payment_link=r["link"], store_id=r["store"],
                                                 amount_total=UNIT_AMOUNT)) for r in rows]
    return Purchases(product.pk, f"/ws/stock/{store.pk}/{product.stripe_product_id}/",
                     [r["session"] for r in rows], {r["session"]: r["intent"] for r in rows}, bodies)


def order_statuses(sessions: list[str]) -> dict[str, str]:
    from payments.models import Order

    return dict(Order.objects.filter(checkout_session_id__in=sessions).values_list("checkout_session_id", "status"))


def wait_settled(sessions: list[str], deadline: float) -> float:
    """Poll until every session has an Order and none is still oversold; returns when that was seen."""
    from django.db import connection

    try:
        while time.time() < deadline:
            statuses = order_statuses(sessions)
            if len(statuses) == len(sessions) and "oversold" not in statuses.values():
                return time.time()
            time.sleep(0.1)
        return float("nan")
    finally:
        connection.close()


def orders_created(sessions: list[str], status: str | None = None) -> list[float]:
    """When the sessions' Orders were created (Order.created_at), oldest first; [nan] when there is none."""
    from payments.models import Order

    orders = Order.objects.filter(checkout_session_id__in=sessions, **({"status": status} if status else {}))
    return sorted(t.timestamp() for t in orders.values_list("created_at", flat=True)) or [float("nan")]


def wait_quiet(fake, seconds: float = 1.5, timeout: float = 30) -> None:
    """Let trailing Stripe work (Payment Link updates) finish before counting calls."""
    deadline, before = time.monotonic() + timeout, None
    while time.monotonic() < deadline:
        now = fake.log_marker()
        if now == before:
            return
        before = now
        time.sleep(seconds)


def check_outcome(p: Purchases, units: int, calls: list[dict]) -> list[str]:
    from inventory.models import Product

    by_session = order_statuses(p.sessions)
    statuses = Counter(by_session.values())
    refunds = Counter(c["intent"] for c in calls
                      if c["method"] == "POST" and c["path"] == "/v1/refunds" and c["status"] == 200
                      and not c["replayed"])
    refunded = {p.intents[s] for s, status in by_session.items() if status == "refunded"}
    stock = Product.objects.get(pk=p.product_id).inventory
    problems = []
    if statuses != Counter({"fulfilled": units, "refunded": len(p.sessions) - units}):
        problems.append(f"orders {dict(statuses)}, want {units} fulfilled, {len(p.sessions) - units} refunded")
    if set(refunds) != refunded or any(n != 1 for n in refunds.values()):
        problems.append(f"refunds at Stripe: {sum(refunds.values())} for {len(refunds)} intents, "
                        f"want one for each of the {len(refunded)} refunded")
    if stock != 0:
        problems.append(f"stock {stock}, want 0")
    return problems


# ------------------------------------------------------------------ load: signed posts and the page feed

@dataclass
class Post:
    sent: float | None = None
    accepted: float | None = None
    attempts: int = 0
    failures: list = field(default_factory=list)


async def deliver(session: aiohttp.ClientSession, url: str, body: str, post: Post, deadline: float) -> None:
    while post.attempts < MAX_ATTEMPTS and time.time() < deadline:
        post.attempts += 1
        post.sent = post.sent or time.time()
        headers = {"Content-Type": "application/json", "Stripe-Signature": events.signature(body, SECRET)}
        try:
            async with session.post(url, data=body, headers=headers) as response:
                await response.read()
                status = response.status
        except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
            status = type(exc).__name__
        if isinstance(status, int) and 200 <= status < 300:
            post.accepted = time.time()
            return
        post.failures.append(status)
        await asyncio.sleep(min(0.25 * 2 ** (post.attempts - 1), 8))


async def post_all(urls: list[str], path: str, bodies: list[str], concurrency: int, deadline: float) -> list[Post]:
    posts = [Post() for _ in bodies]
    todo = iter(range(len(bodies)))
    timeout = aiohttp.ClientTimeout(total=30)
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0), timeout=timeout) as session:
        async def lane():
            for i in todo:
                await deliver(session, urls[i % len(urls)] + path, bodies[i], posts[i], deadline)

        await asyncio.gather(*(lane() for _ in range(concurrency)))
    return posts


async def do_nothing_rate(urls: list[str], count: int, concurrency: int) -> float:
    """Requests/s for `count` GETs answered 404 (a do-nothing request) through the same server and client,
    `concurrency` in flight: the reference that shows what the server costs, apart from the view."""
    todo, done = iter(range(count)), []
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0),
                                     timeout=aiohttp.ClientTimeout(total=30)) as session:
        async def lane():
            for i in todo:
                async with session.get(urls[i % len(urls)] + "/bench-nothing-here/") as response:
                    await response.read()
                    done.append(response.status)

        start = time.time()
        await asyncio.gather(*(lane() for _ in range(concurrency)))
        return len(done) / (time.time() - start)


async def warm_up(urls: list[str]) -> None:
    """First requests import views and open connections in every web process: not part of the burst."""
    async def get(session, url):
        async with session.get(url) as response:
            await response.read()

    async with aiohttp.ClientSession() as session:
        for _ in range(5):
            await asyncio.gather(*(get(session, u + "/") for u in urls for _ in range(8)), return_exceptions=True)


async def watch_feed(url: str, messages: list, deadline: float) -> None:
    """Record (arrival time, inventory) of every message until the page shows 0 or time is up."""
    async with aiohttp.ClientSession() as session:
        async with session.ws_connect(url, origin="http://127.0.0.1", heartbeat=None) as ws:
            while time.time() < deadline:
                try:
                    msg = await asyncio.wait_for(ws.receive(), max(0.1, deadline - time.time()))
                except asyncio.TimeoutError:
                    return
                if msg.type != aiohttp.WSMsgType.TEXT:
                    return
                inventory = json.loads(msg.data).get("inventory")
                if inventory is not None:
                    messages.append((time.time(), inventory))
                    if inventory <= 0:
                        return


async def live_burst(urls, path, p: Purchases, args, deadline) -> tuple[list[Post], list, float]:
    messages: list = []
    feed = asyncio.create_task(watch_feed(urls[0].replace("http", "ws", 1) + p.feed_path, messages, deadline))
    while not messages and not feed.done() and time.time() < deadline:
        await asyncio.sleep(0.02)  # the connect snapshot: the page is open
    posts = await post_all(urls, path, p.bodies, args.concurrency, deadline)
    settled = await asyncio.to_thread(wait_settled, p.sessions, deadline)
    try:
        await asyncio.wait_for(feed, max(1.0, min(15.0, deadline - time.time())))
    except (asyncio.TimeoutError, aiohttp.ClientError) as exc:  # reported as a page that never showed 0
        print(f"  page feed: {type(exc).__name__}: {exc}")
    return posts, messages, settled


# ------------------------------------------------------------------ figures

def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))] if values else float("nan")


def ingest_figures(posts: list[Post]) -> dict:
    accepted = [p.accepted for p in posts if p.accepted]
    first = min(p.sent for p in posts if p.sent)
    latencies = [(p.accepted - p.sent) * 1000 for p in posts if p.accepted]
    return {"accepted": len(accepted), "failed_attempts": sum(len(p.failures) for p in posts),
            "failure_kinds": dict(Counter(str(f) for p in posts for f in p.failures)), "first_sent": first,
            "accepted_per_s": len(accepted) / (max(accepted) - first) if accepted else 0.0,
            "post_p50_ms": pct(latencies, 0.5), "post_p99_ms": pct(latencies, 0.99)}


def page_latencies(posts: list[Post], messages: list, units: int, sold: list[float]) -> dict:
    """Sale j (1..K) is on the page at the first message showing stock ≤ K − j; it was posted with the j-th
    post sent, accepted with the j-th 2xx, and applied when the j-th fulfilled Order was created (`sold`)."""
    shown = [next((t for t, inventory in messages if inventory <= units - j), None) for j in range(1, units + 1)]
    starts = {"sent": sorted(p.sent for p in posts if p.sent), "2xx": sorted(p.accepted for p in posts if p.accepted)}
    figures = {"messages": max(0, len(messages) - 1), "missed": shown.count(None),
               "last_shown": messages[-1][1] if messages else None}
    for name, ends, begins in (("sent", shown, starts["sent"]), ("2xx", shown, starts["2xx"]),
                               ("2xx_to_order", sold, starts["2xx"]), ("order_to_page", shown, sold)):
        lags = [(end - begin) * 1000 for end, begin in zip(ends, begins[:units], strict=False) if end is not None]
        figures[f"p50_{name}_ms"], figures[f"p99_{name}_ms"] = pct(lags, 0.5), pct(lags, 0.99)
    return figures


def call_figures(calls: list[dict], purchases: int, units: int) -> dict:
    by_path = Counter(f"{c['method']} {ID_IN_PATH.sub('/{id}', c['path'])}" for c in calls)
    give_back = by_path["POST /v1/refunds"] + by_path["POST /v1/payment_intents/{id}/cancel"]
    other = len(calls) - give_back
    return {"total": len(calls), "per_purchase": len(calls) / purchases, "by_path": dict(by_path.most_common()),
            "give_back": give_back, "give_back_per_oversold": give_back / (purchases - units),
            "other_per_purchase": other / purchases, "other_per_sale": other / units}


def print_phase(title: str, f: dict, pg_tps: float) -> None:
    i, c = f["ingest"], f["calls"]
    print(f"{title}\n  webhooks accepted/s: {i['accepted_per_s']:.1f}  [{i['accepted']} accepted; "
          f"{i['failed_attempts']} failed attempts, retried {i['failure_kinds'] or ''}; "
          f"post p50 {i['post_p50_ms']:.0f} ms, p99 {i['post_p99_ms']:.0f} ms]")
    if "applied_per_s" in f:
        print(f"  sales applied/s end to end (first post sent → last Order created): {f['applied_per_s']:.1f}"
              f" = {f['applied_per_s'] / pg_tps:.1%} of pgbench; all settled {f['settled_s']:.1f} s after first post")
    if "drain_per_s" in f:
        print(f"  worker drain rate (lock released → last Order created): {f['drain_per_s']:.1f} Orders/s"
              f" = {f['drain_per_s'] / pg_tps:.1%} of pgbench; all settled {f['settled_s']:.1f} s after release")
    if "page" in f:
        g = f["page"]
        print(f"  post → page ({g['messages']} feed messages; {g['missed']} sales never shown), p50 / p99 ms: "
              f"from 2xx {g['p50_2xx_ms']:.0f} / {g['p99_2xx_ms']:.0f}; from post sent {g['p50_sent_ms']:.0f} / "
              f"{g['p99_sent_ms']:.0f}\n    of which 2xx → Order created {g['p50_2xx_to_order_ms']:.0f} / "
              f"{g['p99_2xx_to_order_ms']:.0f}, Order created → page {g['p50_order_to_page_ms']:.0f} / "
              f"{g['p99_order_to_page_ms']:.0f}")
    print(f"  Stripe calls: {c['total']} = {c['per_purchase']:.2f} per purchase; refunds/cancels {c['give_back']} "
          f"({c['give_back_per_oversold']:.2f} per oversold session); the rest "
          f"{c['other_per_purchase']:.2f} per purchase, {c['other_per_sale']:.2f} per fulfilled sale")
    for path, n in c["by_path"].items():
        print(f"    {n:>6}  {path}")


class MetricsWatch:
    """While open (and `interval` is set), scrapes /metrics on a thread every `interval` seconds, timing
    each scrape beside a /healthz request, and keeps what the backlog and the sales counters read."""

    def __init__(self, url: str, interval: float | None):
        self.url, self.interval = url, interval
        self.samples: list[dict] = []
        self.started = time.time()
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._watch, daemon=True)

    def __enter__(self):
        if self.interval:
            self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        if self.interval:
            self.thread.join(30)
            self._scrape()  # once more: the phase is settled, every sale counted

    def _watch(self) -> None:
        while not self.stop.is_set():
            self._scrape()
            self.stop.wait(self.interval)

    def _scrape(self) -> None:
        import urllib.request

        t0 = time.perf_counter()
        urllib.request.urlopen(self.url + "/healthz", timeout=10).close()
        t1 = time.perf_counter()
        request = urllib.request.Request(self.url + "/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
        with urllib.request.urlopen(request, timeout=30) as response:
            samples = metric_samples(response.read().decode())
        self.samples.append({
            "t": time.time() - self.started, "healthz_ms": (t1 - t0) * 1000,
            "scrape_ms": (time.perf_counter() - t1) * 1000,
            "backlog": metric_value(samples, "swagstore_intake_backlog", kind="purchase"),
            "oldest_s": metric_value(samples, "swagstore_intake_oldest_ready_age_seconds"),
            "fulfilled": metric_value(samples, "swagstore_sales_applied_total", outcome="fulfilled"),
            "oversold": metric_value(samples, "swagstore_sales_applied_total", outcome="oversold")})

    def figures(self) -> dict:
        s = self.samples
        if not s:
            return {}
        peak = max(s, key=lambda x: x["backlog"])
        empty_after = next((x["t"] for x in s if x["t"] > peak["t"] and x["backlog"] == 0), None)
        return {"scrapes": len(s), "scrape_p50_ms": pct([x["scrape_ms"] for x in s], 0.5),
                "healthz_p50_ms": pct([x["healthz_ms"] for x in s], 0.5), "backlog_peak": peak["backlog"],
                "backlog_peak_at_s": peak["t"], "backlog_empty_at_s": empty_after,
                "oldest_ready_peak_s": max(x["oldest_s"] for x in s),
                "fulfilled_counted": s[-1]["fulfilled"] - s[0]["fulfilled"],
                "oversold_counted": s[-1]["oversold"] - s[0]["oversold"],
                "timeline": [(round(x["t"], 2), x["backlog"]) for x in s]}


def print_metrics(m: dict, interval: float) -> None:
    if not m:
        print("  /metrics: no scrape completed")
        return
    empty = f"{m['backlog_empty_at_s']:.1f} s" if m["backlog_empty_at_s"] is not None else "never (phase ended first)"
    print(f"  /metrics every {interval} s ({m['scrapes']} scrapes; scrape p50 {m['scrape_p50_ms']:.0f} ms, /healthz "
          f"p50 {m['healthz_p50_ms']:.0f} ms): backlog peak {m['backlog_peak']:.0f} at {m['backlog_peak_at_s']:.1f} s, "
          f"back to 0 at {empty}; oldest ready event peak {m['oldest_ready_peak_s']:.1f} s; sales counted "
          f"{m['fulfilled_counted']:.0f} fulfilled + {m['oversold_counted']:.0f} oversold (scrapes cover the phase)")
    step = max(1, len(m["timeline"]) // 12)
    print("    backlog over time (s: events): " + ", ".join(f"{t}: {n:.0f}" for t, n in m["timeline"][::step]))


# ------------------------------------------------------------------ phases

@dataclass
class Bench:
    args: argparse.Namespace
    stack: ExitStack
    rundir: Path
    env: dict
    fake: object
    path: str = ""
    urls: list = field(default_factory=list)
    web: list = field(default_factory=list)


def phase_problems(b: Bench, p: Purchases, ingest: dict, calls: list[dict]) -> list[str]:
    problems = check_outcome(p, b.args.units, calls)
    if ingest["accepted"] != b.args.purchases:
        problems.append(f"{b.args.purchases - ingest['accepted']} deliveries never accepted")
    return problems


def run_live(b: Bench) -> tuple[dict, list[str]]:
    args, marker, deadline = b.args, b.fake.log_marker(), time.time() + b.args.timeout
    p = arrange(b.fake, units=args.units, purchases=args.purchases, tag="live")
    with py_spy(args.py_spy, [s.process.pid for s in b.web]):
        posts, messages, settled = asyncio.run(live_burst(b.urls, b.path, p, args, deadline))
    wait_quiet(b.fake)
    calls, ingest = b.fake.log_since(marker), ingest_figures(posts)
    f = {"ingest": ingest, "page": page_latencies(posts, messages, args.units,
                                                  orders_created(p.sessions, "fulfilled")),
         "applied_per_s": args.purchases / (orders_created(p.sessions)[-1] - ingest["first_sent"]),
         "settled_s": settled - ingest["first_sent"],
         "calls": call_figures(calls, args.purchases, args.units)}
    problems = phase_problems(b, p, ingest, calls)
    if f["page"]["last_shown"] != 0:
        problems.append(f"the page never showed stock 0 (last shown {f['page']['last_shown']})")
    return f, problems


def run_drain(b: Bench) -> tuple[dict, list[str]]:
    """Build a backlog while the worker waits on the product's row lock, then release it and time the drain.

    Stopping and restarting the worker would time Celery's start-up (seconds here) and miss a worker that
    drains PostgreSQL before it logs "ready."; a held row lock stalls the worker exactly where it applies."""
    args, marker, deadline = b.args, b.fake.log_marker(), time.time() + b.args.timeout
    p = arrange(b.fake, units=args.units, purchases=args.purchases, tag="drain")
    with product_row_locked(b.env["DATABASE_URL"], p.product_id):
        ingest = ingest_figures(asyncio.run(post_all(b.urls, b.path, p.bodies, args.concurrency, deadline)))
    released = time.time()
    settled = wait_settled(p.sessions, released + args.timeout)
    wait_quiet(b.fake)
    calls = b.fake.log_since(marker)
    f = {"ingest": ingest, "drain_per_s": args.purchases / (orders_created(p.sessions)[-1] - released),
         "settled_s": settled - released, "calls": call_figures(calls, args.purchases, args.units)}
    return f, phase_problems(b, p, ingest, calls)


@contextmanager
def product_row_locked(database_url: str, product_id: int):
    """Hold SELECT … FOR UPDATE on the product's row, in a connection of our own, while open."""
    import psycopg

    from inventory.models import Product

    with psycopg.connect(database_url) as conn:
        conn.execute(f'SELECT 1 FROM "{Product._meta.db_table}" WHERE id = %s FOR UPDATE', [product_id])
        yield
        conn.commit()


@contextmanager
def py_spy(target: str | None, pids: list[int]):
    """Sample the web process(es) with `py-spy record` while open (.txt: collapsed stacks, else SVG)."""
    spies = [subprocess.Popen([str(BIN / "py-spy"), "record", "-o", f"{target}.{pid}" if len(pids) > 1 else target,
                               "-f", "raw" if target.endswith(".txt") else "flamegraph", "--pid", str(pid),
                               "--subprocesses", "--rate", "200"], stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL) for pid in (pids if target else [])]
    try:
        time.sleep(1 if spies else 0)
        yield
    finally:
        for spy in spies:
            spy.send_signal(signal.SIGINT)  # py-spy writes its file on SIGINT
            try:
                spy.wait(60)
            except subprocess.TimeoutExpired:
                spy.kill()
                spy.wait(10)


def reconcile(env: dict) -> list[str]:
    run = subprocess.run([sys.executable, "manage.py", "reconcile_stock"], cwd=ROOT, env=env, capture_output=True,
                         text=True, timeout=120)
    return [] if run.returncode == 0 else [f"reconcile_stock exited {run.returncode}: {run.stderr.strip()[-500:]}"]


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--purchases", type=int, default=1000, help="N signed purchases (1 unit each)")
    parser.add_argument("--units", type=int, default=100, help="K units in stock, K < N")
    parser.add_argument("--concurrency", type=int, default=32, help="posts in flight")
    parser.add_argument("--server", choices=("daphne", "uvicorn", "gunicorn", "granian"), default="gunicorn")
    parser.add_argument("--web-processes", type=int, default=1)
    parser.add_argument("--worker-concurrency", type=int, default=2)
    parser.add_argument("--phases", default="live,drain", help="comma-separated: live, drain")
    parser.add_argument("--timeout", type=float, default=300, help="seconds allowed per phase")
    parser.add_argument("--database", default="swagstore_bench_burst", help="created and migrated on first use")
    parser.add_argument("--fresh-db", action="store_true", help="drop and re-create the bench database first")
    parser.add_argument("--env", action="append", default=[], metavar="KEY=VALUE", help="extra app env var")
    parser.add_argument("--py-spy", metavar="PATH", help="profile the web process(es) during the live burst")
    parser.add_argument("--metrics", type=float, metavar="SECONDS",
                        help="scrape /metrics this often during each phase and print the backlog over time")
    parser.add_argument("--json", metavar="PATH", help="also write the figures here")
    args = parser.parse_args()
    if not 0 < args.units < args.purchases or args.concurrency < 1 or args.web_processes < 1:
        parser.error("need 0 < units < purchases, concurrency ≥ 1, web processes ≥ 1")
    return args


def start_stack(args, stack: ExitStack, rundir: Path) -> Bench:
    manager = FakeManager()
    manager.start()
    stack.callback(manager.shutdown)
    fake = manager.Fake()
    fake_url = fake.start()
    stack.callback(fake.stop)
    b = Bench(args, stack, rundir, app_env(fake_url, args.database, args.env,
                                           rundir / "metrics" if args.metrics else None), fake)
    os.environ.update(b.env)  # this process arranges data on the same database, Redis and fake
    prepare_database(b.env, args.database, args.fresh_db)
    import django

    django.setup()
    b.path = webhook_path()
    return b


PHASES = (("live", run_live, "live (worker running):"),
          ("drain", run_drain, "drain (all posted while the worker waits on the product's row lock, then released):"))


def run(args, stack: ExitStack, rundir: Path) -> tuple[dict, list[str]]:
    b = start_stack(args, stack, rundir)
    report = {"args": vars(args), "load_before": os.getloadavg(), "pgbench_tps": pgbench_tps(rundir, args.database)}
    print(f"{args.purchases} purchases of one product, {args.units} in stock, concurrency {args.concurrency}, "
          f"{args.server} × {args.web_processes}, worker concurrency {args.worker_concurrency}; logs in {rundir}")
    print("load average before: %.2f %.2f %.2f (anything else running shares these %d cores)"
          % (*report["load_before"], os.cpu_count()))
    print(f"pgbench (UPDATE … SET q = q - 1 WHERE id = 1 AND q >= 1, -c 8 -j 2 -T 5): {report['pgbench_tps']:.0f} tps")
    b.web, b.urls = start_web(b)
    stack.callback(Service("beat", [str(BIN / "celery"), "-A", "swagstore", "beat", "--loglevel=info", "-s",
                                    str(rundir / "beat-schedule")], b.env, rundir).stop)
    start_worker(b)
    asyncio.run(warm_up(b.urls))
    report["do_nothing_per_s"] = asyncio.run(do_nothing_rate(b.urls, args.purchases, args.concurrency))
    print(f"reference: {args.purchases} do-nothing requests (GET answered 404), same server and client, "
          f"concurrency {args.concurrency}: {report['do_nothing_per_s']:.0f}/s")
    problems = []
    for name, phase, title in PHASES:
        if name in args.phases.split(","):
            with MetricsWatch(b.urls[0], args.metrics) as watch:
                report[name], found = phase(b)
            print_phase(title, report[name], report["pgbench_tps"])
            if args.metrics:
                report[name]["metrics"] = watch.figures()
                print_metrics(report[name]["metrics"], args.metrics)
            problems += [f"{name}: {x}" for x in found]
    report["load_after"] = os.getloadavg()
    print("load average after: %.2f %.2f %.2f" % report["load_after"])
    return report, problems + reconcile(b.env)


def main() -> int:
    args = parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # so the finally blocks stop what we started
    rundir = Path(tempfile.mkdtemp(prefix="purchase_burst-"))
    with ExitStack() as stack:
        report, problems = run(args, stack, rundir)
    for problem in problems:
        print(f"FAILED {problem}")
    print("invariants: " + ("FAILED" if problems else "ok (K fulfilled, N−K refunded once, stock 0, reconcile clean)"))
    if args.json:
        Path(args.json).write_text(json.dumps({**report, "problems": problems}, indent=2))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
