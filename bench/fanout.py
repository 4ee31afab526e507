#!/usr/bin/env python
"""Fan-out benchmark: how long one stock change takes to reach N WebSocket clients.

    .venv/bin/python bench/fanout.py                       # N = 100, 1000, 5000; core and pubsub layers
    .venv/bin/python bench/fanout.py --clients 100 --backends pubsub --rounds 3

For each channel layer (channels_redis's RedisChannelLayer, "core", and RedisPubSubChannelLayer,
"pubsub") and each N, it starts the Procfile's web on loopback (gunicorn, --web-processes uvicorn
workers; --server daphne for one Daphne) with CHANNEL_LAYER_BACKEND set, connects N clients (the
`websockets` library, up to --per-process clients per asyncio process), each from an address of its
own (X-Forwarded-For behind one trusted proxy, so the per-client socket cap turns none away), to one
product's live feed and waits for every connect snapshot; then, --rounds times, it takes one unit with
inventory.services.stock_decrease in this process, exactly as a sale does, and times from the
change's COMMIT to each client's receipt of the new number. The broadcast path is the product's own:
on_commit → selectors.stock_snapshot → async_to_sync(group_send) to the product and store groups.

Reports p50 / p95 / max over every (client, round) latency, the median over rounds of the slowest
client, and any client that missed an update. Everything is set up and torn down by the script: a
throwaway PostgreSQL database `swagstore_bench` on DATABASE_URL's server (created, migrated, dropped
unless --keep-db), a Redis key prefix of its own, the web and client processes. Loopback only;
every wait is bounded (--run-timeout per run).
"""

import argparse
import asyncio
import json
import math
import multiprocessing as mp
import os
import resource
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BENCH_DB = "swagstore_bench"
BACKENDS = ("core", "pubsub")


# ---------------------------------------------------------------- clients (their own processes)

def client_address(n: int) -> str:
    """Client n's own address: every page at the booth is a phone of its own, so the per-client socket
    cap (common/websockets.py) never turns a bench client away. The server trusts one proxy hop
    (TRUSTED_PROXY_COUNT=1) and reads this X-Forwarded-For as the client."""
    return f"10.{n // 65536 % 256}.{n // 256 % 256}.{n % 256}"


def client_process(url: str, origin: str, first_client: int, count: int, concurrency: int, received, ready_q, stop,
                   result_q):
    """Connect `count` clients (addresses first_client, first_client + 1, …), report ready, record every
    message until told to stop."""
    asyncio.run(_clients(url, origin, first_client, count, concurrency, received, ready_q, stop, result_q))


async def _clients(url, origin, first_client, count, concurrency, received, ready_q, stop, result_q):
    from websockets.asyncio.client import connect

    gate = asyncio.Semaphore(concurrency)
    logs: list[list[tuple[float, int]]] = [[] for _ in range(count)]
    sockets = []
    errors: list[str] = []
    started = time.monotonic()

    async def read(ws, log):
        try:
            async for raw in ws:
                now = time.monotonic()
                log.append((now, json.loads(raw).get("inventory", -1)))
                received.value += 1  # one writer per process: no lock needed
        except Exception:  # closed at the end of the run
            pass

    async def one(i):
        async with gate:
            try:
                ws = await connect(url, origin=origin, open_timeout=60, ping_interval=None, close_timeout=2,
                                   max_queue=None,
                                   additional_headers={"X-Forwarded-For": client_address(first_client + i)})
                first = await asyncio.wait_for(ws.recv(), 60)  # the connect snapshot
                logs[i].append((time.monotonic(), json.loads(first).get("inventory", -1)))
            except Exception as exc:
                errors.append(f"{type(exc).__name__}: {exc}")
                return None
        sockets.append(ws)
        return asyncio.create_task(read(ws, logs[i]))

    readers = [r for r in await asyncio.gather(*(one(i) for i in range(count))) if r is not None]
    ready_q.put({"pid": os.getpid(), "connected": len(readers), "errors": errors[:5], "n_errors": len(errors),
                 "seconds": time.monotonic() - started})
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(None, stop.wait)
    await asyncio.wait([asyncio.create_task(ws.close()) for ws in sockets] or [asyncio.sleep(0)], timeout=15)
    for task in readers:
        task.cancel()
    result_q.put({"pid": os.getpid(), "logs": logs})


# ---------------------------------------------------------------- the server

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class WebServer:
    """The Procfile's web (gunicorn with `processes` uvicorn workers), or one Daphne (`server="daphne"`)."""

    def __init__(self, env: dict, log_path: Path, *, server: str = "gunicorn", processes: int = 2):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env, self.log_path, self.process = env, log_path, None
        self.server, self.processes = server, processes

    def command(self) -> list[str]:
        if self.server == "daphne":
            return [str(Path(sys.executable).with_name("daphne")), "-b", "127.0.0.1", "-p", str(self.port),
                    "swagstore.asgi:application"]
        return [str(Path(sys.executable).with_name("gunicorn")), "swagstore.asgi:application", "-k",
                "uvicorn_worker.UvicornWorker", "--workers", str(self.processes), "--bind", f"127.0.0.1:{self.port}"]

    def __enter__(self):
        log = open(self.log_path, "wb")
        self.process = subprocess.Popen(self.command(), cwd=REPO, env=self.env, stdout=log, stderr=subprocess.STDOUT)
        log.close()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.server} exited {self.process.returncode}: "
                                   f"{self.log_path.read_text()[-2000:]}")
            try:
                urllib.request.urlopen(self.url + "/", timeout=2).close()
                return self
            except urllib.error.HTTPError:
                return self
            except OSError:
                time.sleep(0.2)
        raise RuntimeError(f"{self.server} did not answer within 60 s")

    def __exit__(self, *exc):
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)


# ---------------------------------------------------------------- database and Django

def database_urls() -> tuple[str, str]:
    """(maintenance URL, bench URL) on the server of DATABASE_URL (default: local PostgreSQL)."""
    base = urllib.parse.urlsplit(os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres"))
    if not base.scheme.startswith("postgres"):
        sys.exit("bench/fanout.py needs PostgreSQL: set DATABASE_URL to a postgres:// URL")
    if base.hostname not in ("127.0.0.1", "localhost", "::1"):
        sys.exit("bench/fanout.py runs on loopback only: DATABASE_URL must point at 127.0.0.1")
    return base._replace(path="/postgres").geturl(), base._replace(path=f"/{BENCH_DB}").geturl()


def database_create(maintenance_url: str, bench_url: str, *, keep: bool) -> None:
    import psycopg

    with psycopg.connect(maintenance_url, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [BENCH_DB]).fetchone()
        if exists and not keep:
            conn.execute(f"DROP DATABASE {BENCH_DB} WITH (FORCE)")
        if not exists or not keep:
            conn.execute(f"CREATE DATABASE {BENCH_DB}")
    print(f"migrating {BENCH_DB} (dj-stripe's migrations take about a minute)…", flush=True)
    subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=REPO, check=True,
                   env={**os.environ, "DATABASE_URL": bench_url, "DJANGO_SETTINGS_MODULE": "swagstore.settings.base",
                        "REDIS_URL": os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/13"},
                   timeout=600)


def database_drop(maintenance_url: str) -> None:
    import psycopg

    with psycopg.connect(maintenance_url, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {BENCH_DB} WITH (FORCE)")


def django_setup(env: dict) -> None:
    os.environ.update(env)
    sys.path.insert(0, str(REPO))
    import django

    django.setup()


def layer_use(backend: str, prefix: str) -> None:
    """Point this process's channel layer at `backend`, as CHANNEL_LAYER_BACKEND does in Daphne."""
    from channels.layers import channel_layers
    from django.conf import settings

    config = settings.CHANNEL_LAYERS["default"]["CONFIG"]
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": settings.CHANNEL_LAYER_BACKENDS[backend],
                                           "CONFIG": {**config, "prefix": prefix}}}
    channel_layers.backends.clear()


def product_create(tag: str):
    from inventory.models import Product, Store
    from inventory.services import stock_increase

    store = Store.objects.create(pk=f"store_Bench{tag}", name=f"Bench {tag}")
    product = Product.objects.create(store=store, stripe_product_id=f"prod_Bench{tag}", name="Bench tee",
                                     unit_amount=2500)
    stock_increase(product=product, quantity=1_000_000, source=f"bench:{tag}:initial", reason="initial")
    product.refresh_from_db()
    return product


def sale_commit(product, source: str) -> tuple[float, float]:
    """One sale through the stock service; returns (commit time, time the broadcast call returned)."""
    from django.db import transaction

    from inventory.services import stock_decrease

    marks = {}
    with transaction.atomic():
        # Registered first, so it runs right after COMMIT and before the service's broadcast.
        transaction.on_commit(lambda: marks.setdefault("commit", time.monotonic()))
        stock_decrease(product=product, quantity=1, source=source)
    return marks["commit"], time.monotonic()


# ---------------------------------------------------------------- one run

def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))]


def run_once(*, backend: str, n: int, rounds: int, per_process: int, concurrency: int, server_env: dict,
             timeout: float, log_dir: Path, server: str, web_processes: int) -> dict:
    deadline = time.monotonic() + timeout
    tag = uuid.uuid4().hex[:10]
    prefix = f"swagbench{tag}"
    layer_use(backend, prefix)
    product = product_create(tag)
    env = {**server_env, "CHANNEL_LAYER_BACKEND": backend, "CHANNEL_PREFIX": prefix}
    result = {"backend": backend, "n": n, "rounds": rounds}
    with WebServer(env, log_dir / f"{server}-{backend}-{n}.log", server=server, processes=web_processes) as web:
        url = f"ws://127.0.0.1:{web.port}/ws/stock/{product.store_id}/{product.stripe_product_id}/"
        ctx = mp.get_context("spawn")
        stop, ready_q, result_q = ctx.Event(), ctx.Queue(), ctx.Queue()
        sizes = [per_process] * (n // per_process) + ([n % per_process] if n % per_process else [])
        counters = [ctx.Value("q", 0, lock=False) for _ in sizes]
        firsts = [sum(sizes[:k]) for k in range(len(sizes))]
        procs = [ctx.Process(target=client_process, daemon=True,
                             args=(url, web.url, first_client, size, concurrency, counter, ready_q, stop, result_q))
                 for first_client, size, counter in zip(firsts, sizes, counters)]
        connect_started = time.monotonic()
        for p in procs:
            p.start()
        try:
            ready = [ready_q.get(timeout=max(1, deadline - time.monotonic())) for _ in procs]
            result["connect_s"] = time.monotonic() - connect_started
            result["connected"] = sum(r["connected"] for r in ready)
            result["connect_errors"] = [e for r in ready for e in r["errors"]]
            if result["connected"] < n:
                result["limit"] = (f"{n - result['connected']} of {n} clients failed to connect: "
                                   f"{result['connect_errors'][:3]}")
            time.sleep(1.0)  # let every snapshot land before the first change
            baseline = sum(c.value for c in counters)
            commits, broadcast_s = [], []
            for r in range(rounds + 1):  # round 0 warms up: reported apart, not in the figures
                commit, returned = sale_commit(product, f"bench:{tag}:{r}")
                commits.append(commit)
                broadcast_s.append(returned - commit)
                want = baseline + result["connected"] * (r + 1)
                round_deadline = min(deadline, time.monotonic() + 30)
                while sum(c.value for c in counters) < want and time.monotonic() < round_deadline:
                    time.sleep(0.002)
                time.sleep(0.3)
        finally:
            stop.set()
            logs = []
            for _ in procs:
                try:
                    logs.extend(result_q.get(timeout=60)["logs"])
                except Exception:
                    pass
            for p in procs:
                p.join(20)
                if p.is_alive():
                    p.kill()
    start = 1_000_000
    latencies, slowest, missed, per_round = [], [], 0, []
    for r, commit in enumerate(commits):
        expected = start - (r + 1)
        this_round = []
        for log in logs:
            t = next((t for t, inventory in log if inventory == expected), None)
            if t is None:
                missed += 1
            else:
                this_round.append((t - commit) * 1000)
        per_round.append({"p50_ms": round(statistics.median(this_round), 1) if this_round else None,
                          "max_ms": round(max(this_round), 1) if this_round else None,
                          "received": len(this_round)})
        if r == 0:
            result["warmup_max_ms"] = max(this_round) if this_round else None
            continue
        latencies.extend(this_round)
        if this_round:
            slowest.append(max(this_round))
    result["per_round"] = per_round
    result.update({
        "samples": len(latencies), "missed": missed,
        "p50_ms": percentile(latencies, 0.50) if latencies else None,
        "p95_ms": percentile(latencies, 0.95) if latencies else None,
        "max_ms": max(latencies) if latencies else None,
        "slowest_median_ms": statistics.median(slowest) if slowest else None,
        "broadcast_call_ms": statistics.median(broadcast_s[1:]) * 1000 if broadcast_s[1:] else None,
    })
    return result


# ---------------------------------------------------------------- main

def nofile_raise(needed: int) -> int:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = max(soft, needed)
    if hard != resource.RLIM_INFINITY and hard < target:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, target))
            return target
        except (ValueError, OSError):
            target = hard
    resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return target


def fmt(value, digits=1) -> str:
    return "—" if value is None else f"{value:.{digits}f}"


def table(results: list[dict]) -> str:
    lines = ["| backend | N | connected | connect all (s) | p50 (ms) | p95 (ms) | max (ms) "
             "| slowest client, median of rounds (ms) | missed |",
             "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for r in results:
        lines.append(f"| {r['backend']} | {r['n']:,} | {r.get('connected', 0):,} | {fmt(r.get('connect_s'))} | "
                     f"{fmt(r.get('p50_ms'))} | {fmt(r.get('p95_ms'))} | {fmt(r.get('max_ms'))} | "
                     f"{fmt(r.get('slowest_median_ms'))} | {r.get('missed', '—')} |")
    return "\n".join(lines)


def main() -> int:
    global BENCH_DB
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", default="100,1000,5000", help="comma-separated N (default 100,1000,5000)")
    parser.add_argument("--backends", default="core,pubsub", help="comma-separated: core, pubsub")
    parser.add_argument("--rounds", type=int, default=5, help="stock changes timed per run (default 5)")
    parser.add_argument("--per-process", type=int, default=2500, help="clients per client process (default 2500)")
    parser.add_argument("--concurrency", type=int, default=64, help="handshakes in flight per process (default 64)")
    parser.add_argument("--run-timeout", type=float, default=300, help="seconds per run, all included (default 300)")
    parser.add_argument("--server", choices=("gunicorn", "daphne"), default="gunicorn",
                        help="the Procfile's web (gunicorn + uvicorn workers, default) or one Daphne")
    parser.add_argument("--web-processes", type=int, default=2, help="gunicorn workers (default 2, the Procfile's)")
    parser.add_argument("--database", default=BENCH_DB, help=f"the throwaway database (default {BENCH_DB})")
    parser.add_argument("--keep-db", action="store_true", help="reuse and keep that database")
    parser.add_argument("--json", type=Path, help="also write the results as JSON here")
    args = parser.parse_args()
    BENCH_DB = args.database
    sizes = [int(x) for x in args.clients.split(",")]
    backends = [b.strip() for b in args.backends.split(",")]
    if set(backends) - set(BACKENDS):
        parser.error(f"backends are {BACKENDS}")

    nofile = nofile_raise(max(sizes) * 2 + 1024)  # client and server ends, plus Redis/DB/log files
    print(f"open files limit: {nofile}", flush=True)
    maintenance_url, bench_url = database_urls()
    redis_url = os.environ.get("BENCH_REDIS_URL") or os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/13"
    env = {"DJANGO_SETTINGS_MODULE": "swagstore.settings.base", "DATABASE_URL": bench_url, "REDIS_URL": redis_url,
           "CELERY_TASK_ALWAYS_EAGER": "true", "CELERY_QUEUE": "swagbench", "STRIPE_SECRET_KEY": "",
           "DEBUG": "false", "LOG_LEVEL": "WARNING", "ALLOWED_HOSTS": "127.0.0.1,localhost",
           # Each client is an address of its own (client_address), read from X-Forwarded-For.
           "TRUSTED_PROXY_COUNT": "1",
           # One connection kept by the server's database thread instead of one per connect.
           "CONN_MAX_AGE": "60"}
    server_env = {**os.environ, **env}
    log_dir = REPO / "artifacts" / "bench"
    log_dir.mkdir(parents=True, exist_ok=True)

    database_create(maintenance_url, bench_url, keep=args.keep_db)
    results = []
    try:
        django_setup(env)
        for n in sizes:
            for backend in backends:
                print(f"run: {backend}, N={n:,} …", flush=True)
                try:
                    r = run_once(backend=backend, n=n, rounds=args.rounds, per_process=args.per_process,
                                 concurrency=args.concurrency, server_env=server_env, timeout=args.run_timeout,
                                 log_dir=log_dir, server=args.server, web_processes=args.web_processes)
                except Exception as exc:  # one failed run does not hide the others
                    r = {"backend": backend, "n": n, "limit": f"{type(exc).__name__}: {exc}"}
                results.append(r)
                print(f"  {json.dumps({k: v for k, v in r.items() if k != 'connect_errors'})}", flush=True)
    finally:
        from django.db import connections

        connections.close_all()
        if not args.keep_db:
            database_drop(maintenance_url)
    print()
    print(table(results))
    for r in results:
        if r.get("limit"):
            print(f"\n{r['backend']} N={r['n']}: {r['limit']}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return 0 if all(not r.get("limit") and not r.get("missed") for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
