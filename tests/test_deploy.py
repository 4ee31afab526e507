"""Deploying Heroku-style: the production settings pass Django's deploy checks; the Procfile runs
the web, worker, beat and release processes."""

import os
import secrets
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_production_settings_pass_check_deploy(tmp_path):
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "swagstore.settings.production",
           "SECRET_KEY": secrets.token_urlsafe(50), "ALLOWED_HOSTS": "shop.example.com",
           "STRIPE_SECRET_KEY": "sk_test_deploy",
           "DATABASE_URL": f"sqlite:///{tmp_path / 'deploy.sqlite3'}", "REDIS_URL": "redis://127.0.0.1:6379/13"}
    result = subprocess.run([sys.executable, "manage.py", "check", "--deploy", "--fail-level", "ERROR"],
                            cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "ERROR" not in result.stderr


def test_production_refuses_to_start_without_a_secret_key():
    env = {k: v for k, v in os.environ.items() if k != "SECRET_KEY"}
    env.update({"DJANGO_SETTINGS_MODULE": "swagstore.settings.production", "ALLOWED_HOSTS": "shop.example.com"})
    result = subprocess.run([sys.executable, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr


def test_procfile_declares_web_workers_per_queue_beat_and_release():
    processes = dict(line.split(":", 1) for line in (ROOT / "Procfile").read_text().splitlines() if line.strip())
    assert set(processes) == {"web", "sales", "stripe", "notify", "beat", "release"}
    assert "gunicorn swagstore.asgi:application" in processes["web"] and "$PORT" in processes["web"]
    assert "uvicorn_worker.UvicornWorker" in processes["web"]  # ASGI: HTTP and WebSockets
    # bulkheads: the sales worker takes the sales queue and nothing else; every queue has its worker
    queues = {name: _queues(processes[name]) for name in ("sales", "stripe", "notify")}
    assert queues["sales"] == {"${CELERY_QUEUE:-swagstore}-sales"}
    assert set().union(*queues.values()) == {"${CELERY_QUEUE:-swagstore}" + suffix
                                            for suffix in ("", "-sales", "-stripe", "-notify")}
    assert all("celery -A swagstore worker" in processes[name] for name in queues)
    assert "migrate" in processes["release"] and "stripe_endpoint" in processes["release"]


def _queues(command: str) -> set[str]:
    words = command.split()
    return set(words[words.index("-Q") + 1].split(","))


def test_every_task_is_routed_to_a_queue_some_procfile_worker_takes(settings):
    from swagstore.celery import app

    prefix = settings.CELERY_TASK_DEFAULT_QUEUE
    taken = {prefix + suffix for suffix in ("", "-sales", "-stripe", "-notify")}
    ours = [name for name in app.tasks if name.split(".")[0] in ("payments", "inventory")]
    assert ours
    for name in ours:
        route = app.amqp.router.route({}, name)
        assert route["queue"].name in taken, name
    assert app.amqp.router.route({}, "payments.tasks.fulfilment_wake")["queue"].name == prefix + "-sales"
