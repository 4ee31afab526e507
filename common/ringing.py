"""Publishing bells to the broker, guarded, and one bell in flight per kind.

A burst of 500 webhooks a second must not queue 500 drains.

A drain keeps claiming until nothing is left, so work recorded while a bell waits in the queue (or
while its drain runs) is picked up by that drain. A bell marks itself in Redis (SET NX, with a
short expiry) and the drain clears the mark as it starts, so work recorded after that rings again.
If the mark outlives a lost message, it expires within BELL_TTL_MS and the sweeper rings anyway.
Without a broker (in-process tasks) every bell rings.
"""

import logging
from functools import lru_cache

import redis
from django.conf import settings
from kombu.exceptions import OperationalError as BrokerError

log = logging.getLogger(__name__)
BELL_TTL_MS = 2000


def bell_not_yet_rung(kind: str, *, ttl_ms: int = BELL_TTL_MS) -> bool:
    client = _client()
    if client is None:
        return True
    try:
        return bool(client.set(_key(kind), 1, nx=True, px=max(int(ttl_ms), 1)))
    except redis.RedisError as exc:
        log.warning("bell mark unavailable (%s): ringing anyway", exc)
        return True


def bell_heard(kind: str) -> None:
    client = _client()
    if client is None:
        return
    try:
        client.delete(_key(kind))
    except redis.RedisError as exc:
        log.warning("could not clear the %s bell mark (%s); it expires by itself", kind, exc)


def _key(kind: str) -> str:
    return f"{settings.CELERY_TASK_DEFAULT_QUEUE}:bell:{kind}"


def _client() -> "redis.Redis | None":
    if settings.CELERY_TASK_ALWAYS_EAGER or not settings.REDIS_URL:
        return None
    return _connect(settings.REDIS_URL)


@lru_cache(maxsize=2)
def _connect(url: str) -> "redis.Redis":
    return redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1)


def ring(task, *, countdown: float = 0) -> None:
    """Publish a bell. The work is committed in PostgreSQL already, so a broker outage only delays
    it until a sweeper runs: it must never fail the request or task that recorded the work."""
    try:
        task.apply_async(countdown=countdown or None)
    except (BrokerError, redis.RedisError, OSError) as exc:
        log.warning("could not ring %s (%s): the sweeper will pick the work up", task.name, exc)
