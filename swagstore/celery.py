import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "swagstore.settings.base")

app = Celery("swagstore")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# Every worker also sweeps PostgreSQL itself, so no sale waits on the broker (payments/worker_poll.py).
from payments.worker_poll import PostgresSweeper  # noqa: E402

app.steps["worker"].add(PostgresSweeper)
