"""Tests: real PostgreSQL and Redis (started by bin/test), tasks in-process unless a test runs a worker."""

import os

os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/swagstore")
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/14")
os.environ.setdefault("CELERY_TASK_ALWAYS_EAGER", "true")
# Not propagating: with it, Celery re-raises Retry instead of running the eager retry.
os.environ.setdefault("CELERY_TASK_EAGER_PROPAGATES", "false")
os.environ.setdefault("CHANNEL_PREFIX", "swagstore-test")
os.environ.setdefault("CELERY_QUEUE", "swagstore-test")

from .base import *  # noqa: E402,F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
