"""A real Celery worker process, Redis broker and Redis channel layer, end to end."""

import os
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from inventory.broadcast import product_group
from payments.models import Order
from swagstore.celery import app as celery_app
from tests.live_feed import FeedListener
from tests.payments.helpers import purchase, stocked_product

REPO = Path(__file__).resolve().parents[2]

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def celery_worker_process(stripe_fake):
    """`celery -A swagstore worker` on its own queue, on the test database and the stand-in."""
    queue = f"swagstore-test-{uuid.uuid4().hex[:8]}"
    settings_dict = connection.settings_dict
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "swagstore.settings.test",
           "DATABASE_URL": f"postgres://{settings_dict['USER']}@{settings_dict['HOST']}:{settings_dict['PORT']}/"
                           f"{settings_dict['NAME']}",
           "CELERY_TASK_ALWAYS_EAGER": "false", "CELERY_QUEUE": queue,
           "STRIPE_SECRET_KEY": "sk_test_fake", "STRIPE_API_BASE": stripe_fake.base_url,
           "STRIPE_TIMEOUT_SECONDS": "5"}
    process = subprocess.Popen(
        # no -Q: every queue derived from CELERY_QUEUE (sales, stripe, notify and the plain one)
        [sys.executable, "-m", "celery", "-A", "swagstore", "worker", "--concurrency", "2",
         "--loglevel", "INFO", "--without-gossip", "--without-mingle", "--without-heartbeat"],
        cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    output: list[str] = []
    ready = threading.Event()

    def read():
        for line in process.stdout:
            output.append(line)
            if " ready." in line:
                ready.set()

    threading.Thread(target=read, daemon=True).start()
    assert ready.wait(60), "worker did not start:\n" + "".join(output)
    conf, amqp = celery_app.conf, celery_app.amqp
    previous = (conf.task_always_eager, conf.task_default_queue, conf.task_routes)
    # This process publishes to the worker's queues: the same names, derived from its CELERY_QUEUE.
    routes = {task: {"queue": route["queue"].replace(conf.task_default_queue, queue, 1)}
              for task, route in settings.CELERY_TASK_ROUTES.items()}
    conf.task_always_eager, conf.task_default_queue, conf.task_routes = False, queue, routes
    amqp.flush_routes()
    amqp.router = amqp.Router()
    try:
        yield output
    finally:
        conf.task_always_eager, conf.task_default_queue, conf.task_routes = previous
        amqp.flush_routes()
        amqp.router = amqp.Router()
        process.terminate()
        process.wait(20)


def _wait_for(predicate, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return False


def test_worker_fulfils_a_signed_webhook_and_the_page_hears_it(stripe_fake, webhook, client,
                                                              celery_worker_process):
    # given: a product page listening to its live feed
    product = stocked_product(stripe_fake, 2)
    feed = FeedListener(f"/ws/stock/{product.store_id}/{product.stripe_product_id}/")
    try:
        assert feed.connect()[0]
        assert feed.receive()["inventory"] == 2  # the snapshot on connect
        event = purchase(stripe_fake, product, capture="manual")
        # when
        assert webhook.post(client, event).status_code == 200
        # then: the worker process took the stock, captured, and broadcast through Redis
        message = feed.receive_until(lambda m: m["inventory"] == 1, timeout=30)
        assert message["type"] == "stock.updated" and message["payable"] is True
        session_id = event["data"]["object"]["id"]
        assert _wait_for(lambda: Order.objects.filter(checkout_session_id=session_id,
                                                      capture=Order.Capture.CAPTURED).exists()), \
            "".join(celery_worker_process)
        assert "payments.tasks.fulfilment_wake" in "".join(celery_worker_process)
        assert product_group(product.store_id, product.stripe_product_id).startswith("stock.")
    finally:
        feed.close()
