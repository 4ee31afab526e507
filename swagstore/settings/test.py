"""Tests: real PostgreSQL and Redis (started by bin/test), tasks in-process unless a test runs a worker."""

import os

os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/swagstore")
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/14")
os.environ.setdefault("CELERY_TASK_ALWAYS_EAGER", "true")
# A task that raises fails its test (no task retries through Celery: retries live in job rows).
os.environ.setdefault("CELERY_TASK_EAGER_PROPAGATES", "true")
if os.environ["CELERY_TASK_ALWAYS_EAGER"].lower() == "true":
    # In-process tests retry a failing Stripe call at once (up to the fast attempts), then park it.
    os.environ.setdefault("STRIPE_RETRY_BASE_SECONDS", "0")
    os.environ.setdefault("STRIPE_RETRY_MAX_SECONDS", "3600")
else:
    # A worker process under test (fault tests): real backoff, on a test's time scale.
    os.environ.setdefault("STRIPE_RETRY_BASE_SECONDS", "0.5")
    os.environ.setdefault("STRIPE_RETRY_MAX_SECONDS", "5")
    os.environ.setdefault("DRAIN_SECONDS", "5")
# Sessions are created when asked unless a test fills a pool itself (tests/payments/test_session_pool.py).
os.environ.setdefault("HELD_CHECKOUT_POOL_SIZE", "0")
# Every scan reads the product unless a test remembers redirects itself (tests/payments/test_scan_cost.py).
os.environ.setdefault("SCAN_CACHE_SECONDS", "0")
os.environ.setdefault("CHANNEL_PREFIX", "swagstore-test")
os.environ.setdefault("CELERY_QUEUE", "swagstore-test")

from .base import *  # noqa: E402,F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
