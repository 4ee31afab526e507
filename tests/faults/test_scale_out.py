"""Scaled out as the manifest deploys it: the Procfile's release step, then 2 web and 3 worker
processes (and beat) on one PostgreSQL, sharing one metrics directory. A burst for several products
in two booths, delivered to both web processes at once: every purchase is decided once, stock is
exact, the money of every oversold one goes back once, reconcile is clean, and /metrics on either
web process adds up what every process counted."""

import itertools
import urllib.request

import pytest
from django.urls import reverse

from payments.endpoints import webhook_endpoint_local
from tests.factories import store_create
from tests.faults.checks import Burst, assert_settled_exactly_once, settled
from tests.faults.conftest import WEBHOOK_SECRET
from tests.faults.delivery import Deliverer
from tests.faults.processes import free_port, wait_until
from tests.payments.helpers import stocked_product
from tests.metrics import metric_samples, metric_value
from tests.procfile import celery_process_types

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

WEB_PROCESSES, WORKER_PROCESSES = 2, 3
# (booth, units in stock, buyers) per product
PRODUCTS = [("A", 5, 14), ("A", 3, 10), ("B", 6, 12), ("B", 1, 8)]
SETTLE_SECONDS = 120
METRICS_TOKEN = "scale-out-metrics-token"


def test_two_web_and_three_workers_on_one_database_decide_every_purchase_once(stripe_fake, stack, tmp_path):
    # given: two booths and four products at the Stripe fake; the release step run as the platform would
    booths = {name: store_create(name=f"Booth {name}") for name in ("A", "B")}
    bursts = [Burst.prepare(stripe_fake, stocked_product(stripe_fake, stock, store=booths[booth]), buyers)
              for booth, stock, buyers in PRODUCTS]
    since = len(stripe_fake.requests)
    shared = {"PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "metrics"), "METRICS_TOKEN": METRICS_TOKEN,
              "STRIPE_WEBHOOK_SECRET": WEBHOOK_SECRET, "WEB_CONCURRENCY": "1"}
    release = stack.run_release(**shared)
    assert release.returncode == 0, release.stdout + release.stderr
    # … then 2 web processes, 3 workers (spread over the Procfile's worker types) and beat, side by side
    ports = [free_port() for _ in range(WEB_PROCESSES)]
    workers = itertools.islice(itertools.cycle(celery_process_types("worker")), WORKER_PROCESSES)
    launched = [stack.launch_procfile("web", role=f"web{i + 1}", port=port, **shared) for i, port in enumerate(ports)]
    launched += [stack.launch_procfile(kind, role=f"worker{i + 1}", **shared) for i, kind in enumerate(workers)]
    launched += [stack.launch_procfile(kind, role="beat", **shared) for kind in celery_process_types("beat")]
    for proc in launched:
        proc.wait_ready(120)

    # when: the products' purchases, interleaved, go half to each web process at once
    path = reverse("djstripe:djstripe_webhook_by_uuid", kwargs={"uuid": webhook_endpoint_local().djstripe_uuid})
    deliverers = [Deliverer(f"http://127.0.0.1:{port}{path}", WEBHOOK_SECRET) for port in ports]
    events = [e for group in itertools.zip_longest(*(b.events for b in bursts)) for e in group if e]
    try:
        deliveries = [d for i, event in enumerate(events) for d in deliverers[i % WEB_PROCESSES].send([event])]
        undelivered = deliverers[0].wait(deliveries, timeout=SETTLE_SECONDS)  # waits on any deliverer's
        done = wait_until(lambda: settled(stripe_fake, bursts), SETTLE_SECONDS, interval=0.5)
    finally:
        for deliverer in deliverers:
            deliverer.close()

    # then: each purchase decided once, stock exact, money back once, reconcile clean
    assert_settled_exactly_once(stripe_fake, bursts, undelivered=undelivered, done=done, since=since,
                                deliverer=deliverers[0], stack=stack,
                                when=f"{SETTLE_SECONDS}s after the last delivery was answered")
    assert [p.name for p in stack.processes.all if p.exited_on_its_own] == [], stack.processes.status()
    # … and either web process reports what all of them counted
    sold = sum(b.sold for b in bursts)
    for port in ports:
        scraped = scrape(port)
        assert metric_value(scraped, "swagstore_webhooks_received_total", type="checkout.session.completed",
                            outcome="accepted") == len(events)
        assert metric_value(scraped, "swagstore_sales_applied_total", outcome="fulfilled") == sold
        assert metric_value(scraped, "swagstore_sales_applied_total", outcome="oversold") == len(events) - sold
        assert metric_value(scraped, "swagstore_intake_backlog", kind="purchase") == 0


def scrape(port: int) -> dict:
    request = urllib.request.Request(f"http://127.0.0.1:{port}/metrics",
                                     headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return metric_samples(response.read().decode())
