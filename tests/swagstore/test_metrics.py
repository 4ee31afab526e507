"""/metrics: a scraper with the token reads what a burst did, while it happens and after."""

import uuid
from datetime import timedelta

import pytest
import redis
from asgiref.sync import async_to_sync, sync_to_async
from channels.testing import WebsocketCommunicator
from django.utils import timezone

from common.metrics import stripe_outcome
from inventory.models import Reservation
from inventory.services import reservations_release_expired
from payments import tasks
from payments.checkout.services import checkout_sell
from payments.gateway.ratelimit import stripe_rate_wait
from payments.models import IntakeEvent, Order, StripeJob, StripeRateBudget
from swagstore.asgi import application
from tests.metrics import metric_samples, metric_value as value
from tests.payments.helpers import checkout_for, purchase, stocked_product

pytestmark = pytest.mark.django_db(transaction=True)

TOKEN = "metrics-test-token-7d1f"
PROBE = {"HTTP_HOST": "10.1.2.3:5000"}
PURCHASE = "checkout.session.completed"


@pytest.fixture
def metrics_token(settings):
    settings.METRICS_TOKEN = TOKEN
    settings.WORK_STUCK_SECONDS = 60


def scrape(client) -> dict:
    response = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}", **PROBE)
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/plain; version=")
    return metric_samples(response.content.decode())


def grew(before: dict, after: dict, name: str, **labels) -> float:
    return value(after, name, **labels) - value(before, name, **labels)


def test_a_burst_shows_in_the_backlog_then_in_sales_and_stripe_calls(stripe_fake, webhook, client, metrics_token,
                                                                     broker_down):
    # given: 3 in stock, 8 buyers (manual and automatic capture in turn)
    product = stocked_product(stripe_fake, 3)
    burst = [purchase(stripe_fake, product, capture="manual" if i % 2 == 0 else "automatic") for i in range(8)]
    before = scrape(client)

    # when: the burst arrives (one delivered twice, one forged) while no bell rings
    for event in burst:
        assert webhook.post(client, event).status_code == 200
    assert webhook.post(client, burst[0]).status_code == 200
    assert webhook.post(client, burst[1], secret="whsec_forged").status_code == 400
    during = scrape(client)
    IntakeEvent.objects.update(received_at=timezone.now() - timedelta(seconds=120))  # then nobody drains a while
    later = scrape(client)
    broker_down.undo()
    tasks.fulfilment_wake.delay()
    after = scrape(client)

    # then: while waiting, the backlog is the burst, and it grows old and stuck
    # A redelivery is accepted too (and stores nothing new): telling it apart would cost the hot path a read.
    assert grew(before, during, "swagstore_webhooks_received_total", type=PURCHASE, outcome="accepted") == 9
    assert grew(before, during, "swagstore_webhooks_received_total", type="unverified", outcome="refused") == 1
    assert value(during, "swagstore_database_up") == 1
    assert value(during, "swagstore_intake_backlog", kind="purchase") == 8
    assert value(during, "swagstore_work_stuck", kind="intake.purchase") == 0
    assert 0 <= value(during, "swagstore_intake_oldest_ready_age_seconds") < 60
    assert value(later, "swagstore_work_stuck", kind="intake.purchase") == 8
    assert value(later, "swagstore_intake_oldest_ready_age_seconds") >= 120
    assert grew(before, later, "swagstore_sales_applied_total", outcome="fulfilled") == 0
    # … once applied, the backlog is gone, 3 sold, 5 oversold, and their money went back through Stripe
    assert value(after, "swagstore_intake_backlog", kind="purchase") == 0
    assert value(after, "swagstore_work_stuck", kind="intake.purchase") == 0
    assert value(after, "swagstore_intake_oldest_ready_age_seconds") == 0
    assert grew(before, after, "swagstore_sales_applied_total", outcome="fulfilled") == 3
    assert grew(before, after, "swagstore_sales_applied_total", outcome="oversold") == 5
    assert grew(before, after, "swagstore_fulfilment_batches_total") >= 1
    orders = {o.checkout_session_id: o for o in Order.objects.filter(
        checkout_session_id__in=[e["data"]["object"]["id"] for e in burst])}
    statuses = [orders[e["data"]["object"]["id"]].status for e in burst]
    manual_winners = sum(1 for i, status in enumerate(statuses) if status == Order.Status.FULFILLED and i % 2 == 0)
    cancelled, refunded = statuses.count(Order.Status.CANCELLED), statuses.count(Order.Status.REFUNDED)
    assert cancelled + refunded == 5
    assert grew(before, after, "swagstore_stripe_calls_total", action="payment_intent.cancel", outcome="ok") == cancelled
    assert grew(before, after, "swagstore_stripe_calls_total", action="refund.create", outcome="ok") == refunded
    assert grew(before, after, "swagstore_stripe_calls_total", action="payment_intent.capture",
                outcome="ok") == manual_winners
    assert value(after, "swagstore_work_failed", kind="stripe_job.give_back") == 0


def test_our_checkouts_count_as_sales_when_their_hold_becomes_one(stripe_fake, client, metrics_token):
    # given: two buyers hold the last unit in turn: the first hold lapses, the second buyer takes the unit
    product = stocked_product(stripe_fake, 1)
    lapsed = checkout_for(product)
    Reservation.objects.filter(hold_ref=str(lapsed.pk)).update(expires_at=timezone.now() - timedelta(seconds=1))
    reservations_release_expired()
    taken = checkout_for(product)
    before = scrape(client)
    # when: both payments arrive
    assert checkout_sell(checkout_id=taken.pk) is True
    assert checkout_sell(checkout_id=lapsed.pk) is False
    # then
    after = scrape(client)
    assert grew(before, after, "swagstore_sales_applied_total", outcome="fulfilled") == 1
    assert grew(before, after, "swagstore_sales_applied_total", outcome="oversold") == 1


def test_failed_and_stuck_work_is_counted_by_kind(client, metrics_token):
    # given: an event Stripe refused what it needs for, and two give-backs overdue, one held by a worker
    now = timezone.now()
    failed = IntakeEvent.objects.create(event_id="evt_failed", event_type=PURCHASE, kind=IntakeEvent.Kind.PURCHASE,
                                        object_id="cs_failed", event_created=now, state=IntakeEvent.State.FAILED,
                                        next_attempt_at=now)
    overdue = now - timedelta(minutes=5)
    StripeJob.objects.create(key="give_back:a", action=StripeJob.Action.GIVE_BACK, intake=failed, next_attempt_at=overdue)
    StripeJob.objects.create(key="give_back:b", action=StripeJob.Action.GIVE_BACK, intake=failed, next_attempt_at=overdue,
                             locked_until=now + timedelta(seconds=30))
    # when
    scraped = scrape(client)
    # then
    assert value(scraped, "swagstore_work_failed", kind="intake.purchase") == 1
    assert value(scraped, "swagstore_intake_backlog", kind="purchase") == 0
    assert value(scraped, "swagstore_work_pending", kind="stripe_job.give_back") == 2
    assert value(scraped, "swagstore_work_stuck", kind="stripe_job.give_back") == 1  # the other is being worked on
    assert value(scraped, "swagstore_work_stuck", kind="stripe_job.capture") == 0


def test_live_feeds_are_counted_while_open(client, metrics_token, make_store):
    store = make_store()
    feed = "StockConsumer"

    async def open_then_close(scrapes: list):
        socket = WebsocketCommunicator(application, f"/ws/stock/{store.pk}/",
                                       headers=[(b"origin", b"http://127.0.0.1"), (b"host", b"127.0.0.1")])
        connected, _ = await socket.connect(timeout=3)
        assert connected
        scrapes.append(await _scrape_async(client))
        await socket.disconnect()
        scrapes.append(await _scrape_async(client))

    before, scrapes = scrape(client), []
    async_to_sync(open_then_close)(scrapes)
    during, after = scrapes
    assert grew(before, during, "swagstore_websocket_connections_opened_total", feed=feed) == 1
    assert grew(before, during, "swagstore_websocket_connections_open", feed=feed) == 1
    assert grew(before, after, "swagstore_websocket_connections_open", feed=feed) == 0


async def _scrape_async(client) -> dict:
    return await sync_to_async(scrape)(client)


def test_counters_are_still_scraped_while_the_database_is_down(client, metrics_token, database_down):
    scraped = scrape(client)
    assert value(scraped, "swagstore_database_up") == 0
    assert ("swagstore_intake_backlog", (("kind", "purchase"),)) not in scraped
    assert ("swagstore_fulfilment_batches_total", ()) in scraped  # the counters are still there


def test_metrics_need_the_token_and_tell_nothing_without_it(client, settings):
    settings.METRICS_TOKEN = ""
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer anything", **PROBE).status_code == 404
    settings.METRICS_TOKEN = TOKEN
    for headers in ({}, {"HTTP_AUTHORIZATION": "Bearer wrong"}, {"HTTP_AUTHORIZATION": TOKEN + "x"}):
        response = client.get("/metrics", **headers, **PROBE)
        assert response.status_code == 401 and response["WWW-Authenticate"] == "Bearer"
        assert b"swagstore_" not in response.content


def test_stripe_calls_that_wait_for_the_shared_budget_are_counted(client, metrics_token, settings):
    # given: a budget of 2 requests a second, for all processes together, full
    settings.STRIPE_RATE_LIMIT = 2
    StripeRateBudget.objects.create(name="stripe", tokens=2, refilled_at=timezone.now())
    before = scrape(client)
    # when: three calls at once; the third waits for a token
    for _ in range(3):
        stripe_rate_wait()
    # then
    after = scrape(client)
    assert grew(before, after, "swagstore_stripe_rate_limit_waits_total") == 1
    assert grew(before, after, "swagstore_stripe_rate_limit_wait_seconds_total") > 0.1


@pytest.mark.parametrize(("recorded", "outcome"), [
    ("ok", "ok"), ("unavailable: Read timed out", "unavailable"), ("error 429: Too many requests", "rate_limited"),
    ("error 503: Service unavailable", "server_error"), ("error 402: Your card was declined.", "rejected"),
    ("recorded, not sent", "offline")])
def test_a_stripe_calls_outcome_is_one_of_a_few_labels(recorded, outcome):
    assert stripe_outcome(recorded) == outcome


def test_each_celery_queue_reports_its_length(client, metrics_token, settings):
    # given: bells waiting in the default queue (one at a priority) and in a routed queue
    tag = uuid.uuid4().hex[:8]
    settings.CELERY_TASK_DEFAULT_QUEUE = f"metrics-{tag}"
    settings.CELERY_TASK_ROUTES = {"payments.tasks.settlement_wake": {"queue": f"metrics-{tag}-stripe"}}
    lists = [f"metrics-{tag}", f"metrics-{tag}\x06\x163", f"metrics-{tag}-stripe"]
    broker = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    try:
        for name in lists:
            broker.rpush(name, "{}")
        # when
        scraped = scrape(client)
    finally:
        broker.delete(*lists)
    # then
    assert value(scraped, "swagstore_celery_queue_length", queue=f"metrics-{tag}") == 2
    assert value(scraped, "swagstore_celery_queue_length", queue=f"metrics-{tag}-stripe") == 1
