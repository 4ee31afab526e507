"""What a platform or load balancer asks a web process: is it up (/healthz), may it take traffic (/readyz).

Both are answered by a middleware ahead of the others, so a probe that reaches a process by its
address (Host not in ALLOWED_HOSTS) over plain HTTP inside the platform's network is answered
instead of refused or redirected to HTTPS. Neither says more than which check failed and how (the
kind of error, never its text, which may name hosts or users), nor which versions run here.
"""

from collections.abc import Callable
from functools import lru_cache

import redis
from django.conf import settings
from django.db import DatabaseError, connection
from django.db.migrations.executor import MigrationExecutor
from django.http import HttpRequest, HttpResponse, JsonResponse

from common import words

from .metrics import metrics_view

REDIS_TIMEOUT_SECONDS = 2.0
_migrations_seen_applied = False


def healthz(request: HttpRequest) -> HttpResponse:
    """The process answers: nothing else is asked (no database), so a busy database never restarts it."""
    return HttpResponse("ok\n", content_type="text/plain; charset=utf-8")


def readyz(request: HttpRequest) -> JsonResponse:
    """Ready when the database and Redis answer and every migration is applied; else 503 with the reasons."""
    problems = readiness_problems()
    if problems:
        return JsonResponse({"status": "not ready", "problems": problems}, status=503)
    return JsonResponse({"status": "ready"})


def readiness_problems() -> dict[str, str]:
    """Each failing check's name and what went wrong, in words that carry no secret."""
    problems = {}
    for name, check in (("database", _database_problem), ("migrations", _migrations_problem),
                        ("redis", _redis_problem)):
        if name == "migrations" and "database" in problems:
            continue  # cannot tell without the database
        problem = check()
        if problem:
            problems[name] = problem
    return problems


def _database_problem() -> str:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except DatabaseError as exc:
        connection.close()  # a broken connection is not reused by the next request of this thread
        return f"does not answer ({type(exc).__name__})"
    return ""


def _migrations_problem() -> str:
    global _migrations_seen_applied
    if _migrations_seen_applied:
        return ""  # migrations are never unapplied under a running release; the graph costs ~0.5 s to load
    executor = MigrationExecutor(connection)
    plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    if plan:
        return f"{words.migrations(len(plan))} not applied (run the release step: manage.py migrate)"
    _migrations_seen_applied = True
    return ""


def _redis_problem() -> str:
    if not settings.REDIS_URL:
        return ""  # single-process mode: no broker, no channel layer to reach
    try:
        _redis_client(settings.REDIS_URL).ping()
    except redis.RedisError as exc:
        return f"does not answer ({type(exc).__name__})"
    return ""


@lru_cache(maxsize=2)
def _redis_client(url: str) -> redis.Redis:
    return redis.Redis.from_url(url, socket_connect_timeout=REDIS_TIMEOUT_SECONDS,
                                socket_timeout=REDIS_TIMEOUT_SECONDS)


OPERATOR_PATHS: dict[str, Callable[[HttpRequest], HttpResponse]] = {
    "/healthz": healthz, "/readyz": readyz, "/metrics": metrics_view}


class OperatorEndpoints:
    """First in MIDDLEWARE: /healthz, /readyz and /metrics are answered before the host check, the
    HTTPS redirect and sessions, to GET (and HEAD) only."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        view = OPERATOR_PATHS.get(request.path_info)
        if view is None:
            return self.get_response(request)
        if request.method not in ("GET", "HEAD"):
            return HttpResponse("Only GET.\n", status=405, headers={"Allow": "GET, HEAD"},
                                content_type="text/plain; charset=utf-8")
        return view(request)
