"""/metrics: the store's counters in Prometheus's text format, for a scraper that holds METRICS_TOKEN.

Counters come from every process that shares PROMETHEUS_MULTIPROC_DIR with this one (common/metrics.py);
the state of the work is read from PostgreSQL at each scrape, so whichever web process answers
reports the same backlog, oldest waiting event and failed or stuck work; the Celery queues' lengths
are read from Redis. Without METRICS_TOKEN the endpoint does not exist (404); a wrong or missing
token gets 401 and nothing else.
"""

import hmac
import os
from datetime import timedelta

import redis
from django.conf import settings
from django.db import DatabaseError
from django.db.models import Count, F, Min, Q
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from prometheus_client import REGISTRY, CollectorRegistry, generate_latest, multiprocess
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from payments.models import IntakeEvent, LinkSync, StripeJob

# kombu's Redis transport keeps a queue's messages of priority p > 0 in a list named queue + sep + p.
KOMBU_PRIORITY_SEPARATOR = "\x06\x16"
KOMBU_PRIORITY_STEPS = (0, 3, 6, 9)


def metrics_view(request: HttpRequest) -> HttpResponse:
    token = settings.METRICS_TOKEN
    if not token:
        return HttpResponse("Not found.\n", status=404, content_type="text/plain; charset=utf-8")
    offered = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
    if not hmac.compare_digest(offered.encode(), token.encode()):
        return HttpResponse("A bearer token is required.\n", status=401, headers={"WWW-Authenticate": "Bearer"},
                            content_type="text/plain; charset=utf-8")
    return HttpResponse(generate_latest(scrape_registry()), content_type=CONTENT_TYPE_LATEST)


def scrape_registry() -> CollectorRegistry:
    """This scrape's collectors: every process's counters (or this process's alone), the work, the queues."""
    registry = CollectorRegistry()
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        multiprocess.MultiProcessCollector(registry)
    else:
        registry.register(REGISTRY)
    registry.register(WorkCollector())
    registry.register(QueueCollector())
    return registry


class WorkCollector:
    """What PostgreSQL says of the durable work (payments/models/work.py), by kind: `intake.<kind>`,
    `stripe_job.<action>`, `link_sync`. Stuck: due for longer than WORK_STUCK_SECONDS and no
    worker holding its lease, so no worker is getting to it."""

    def collect(self):
        try:
            families = list(self._families())
        except DatabaseError:
            families = []  # the counters still get scraped; /readyz says what is wrong
        yield GaugeMetricFamily("swagstore_database_up", "Whether this scrape could read the work from PostgreSQL.",
                                value=1 if families else 0)
        yield from families

    def _families(self):
        now = timezone.now()
        stuck_before = now - timedelta(seconds=settings.WORK_STUCK_SECONDS)
        backlog = GaugeMetricFamily("swagstore_intake_backlog", "Stored webhook events whose work is not "
                                    "applied yet (ready, or waiting for line items), by kind.", labels=["kind"])
        pending = GaugeMetricFamily("swagstore_work_pending", "Durable work waiting or in progress, by kind.",
                                    labels=["kind"])
        failed = GaugeMetricFamily("swagstore_work_failed", "Durable work set aside with its reason for staff "
                                   "(admin), by kind.", labels=["kind"])
        stuck = GaugeMetricFamily("swagstore_work_stuck", "Durable work due for longer than "
                                  "WORK_STUCK_SECONDS that no worker holds, by kind.", labels=["kind"])
        for kind, counts in _intake_counts(stuck_before).items():
            backlog.add_metric([kind], counts["backlog"])
            pending.add_metric([f"intake.{kind}"], counts["backlog"])
            failed.add_metric([f"intake.{kind}"], counts["failed"])
            stuck.add_metric([f"intake.{kind}"], counts["stuck"])
        for action, counts in _stripe_job_counts(now, stuck_before).items():
            for family in (pending, failed, stuck):
                family.add_metric([f"stripe_job.{action}"], counts[family.name.removeprefix("swagstore_work_")])
        links = _link_sync_counts(now, stuck_before)
        pending.add_metric(["link_sync"], links["pending"])
        stuck.add_metric(["link_sync"], links["stuck"])
        yield from (backlog, pending, failed, stuck)
        yield GaugeMetricFamily("swagstore_intake_oldest_ready_age_seconds", "How long the oldest event ready to "
                                "apply has waited since it was received (0: none waiting).",
                                value=_oldest_ready_age(now))


def _intake_counts(stuck_before) -> dict[str, dict[str, int]]:
    waiting = Q(state__in=[IntakeEvent.State.READY, IntakeEvent.State.AWAITING_LINES])
    rows = IntakeEvent.objects.exclude(state=IntakeEvent.State.DONE).values("kind").annotate(
        backlog=Count("pk", filter=waiting), failed=Count("pk", filter=Q(state=IntakeEvent.State.FAILED)),
        stuck=Count("pk", filter=Q(state=IntakeEvent.State.READY, received_at__lt=stuck_before)))
    counts = {kind: {"backlog": 0, "failed": 0, "stuck": 0} for kind in IntakeEvent.Kind.values}
    counts.update({row.pop("kind"): row for row in rows})
    return counts


def _stripe_job_counts(now, stuck_before) -> dict[str, dict[str, int]]:
    pending = Q(state=StripeJob.State.PENDING)
    unheld = Q(locked_until__isnull=True) | Q(locked_until__lt=now)
    rows = StripeJob.objects.exclude(state=StripeJob.State.DONE).values("action").annotate(
        pending=Count("pk", filter=pending), failed=Count("pk", filter=Q(state=StripeJob.State.FAILED)),
        stuck=Count("pk", filter=pending & unheld & Q(next_attempt_at__lt=stuck_before)))
    counts = {action: {"pending": 0, "failed": 0, "stuck": 0} for action in StripeJob.Action.values}
    counts.update({row.pop("action"): row for row in rows})
    return counts


def _link_sync_counts(now, stuck_before) -> dict[str, int]:
    unheld = Q(locked_until__isnull=True) | Q(locked_until__lt=now)
    return LinkSync.objects.filter(wanted__gt=F("synced")).aggregate(
        pending=Count("pk"), stuck=Count("pk", filter=unheld & Q(next_attempt_at__lt=stuck_before)))


def _oldest_ready_age(now) -> float:
    oldest = IntakeEvent.objects.filter(state=IntakeEvent.State.READY).aggregate(at=Min("received_at"))["at"]
    return max((now - oldest).total_seconds(), 0.0) if oldest else 0.0


class QueueCollector:
    """How many bells wait in each Celery queue (Redis lists). A long queue with no backlog in
    PostgreSQL is harmless (each bell finds nothing); the backlog is the figure that matters."""

    def collect(self):
        if not settings.REDIS_URL:
            return
        family = GaugeMetricFamily("swagstore_celery_queue_length", "Messages waiting in a Celery queue.",
                                   labels=["queue"])
        try:
            client = redis.Redis.from_url(settings.CELERY_BROKER_URL, socket_connect_timeout=2, socket_timeout=2)
            for queue in celery_queue_names():
                family.add_metric([queue], sum(client.llen(_priority_list(queue, step))
                                               for step in KOMBU_PRIORITY_STEPS))
        except redis.RedisError:
            return  # /readyz tells Redis is down; the other figures still get scraped
        yield family


def celery_queue_names() -> list[str]:
    """The default queue and every queue named in the task routes or the queue declarations."""
    names = [settings.CELERY_TASK_DEFAULT_QUEUE]
    routes = getattr(settings, "CELERY_TASK_ROUTES", None) or {}
    names += [route["queue"] for route in (routes.values() if isinstance(routes, dict) else [])
              if isinstance(route, dict) and route.get("queue")]
    names += [getattr(queue, "name", queue) for queue in getattr(settings, "CELERY_TASK_QUEUES", None) or ()]
    return list(dict.fromkeys(names))


def _priority_list(queue: str, step: int) -> str:
    return f"{queue}{KOMBU_PRIORITY_SEPARATOR}{step}" if step else queue
