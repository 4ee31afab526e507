"""Deploying Heroku-style: the production settings pass Django's deploy checks; the Procfile runs
the web, worker, beat and release processes; app.json describes that formation and every variable."""

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

from tests.procfile import procfile_commands, procfile_variables

ROOT = Path(__file__).resolve().parents[1]
# Set by the platform itself, or read before the settings (manage.py, asgi.py, celery.py).
PLATFORM_VARIABLES = {"PORT"}
PROCESS_VARIABLES = {"DJANGO_SETTINGS_MODULE"}
# Records every variable the settings read through django-environ, then loads the production settings.
SETTINGS_READ = """
import json, environ
read, original = set(), environ.Env.get_value
def get_value(self, var, *args, **kwargs):
    read.add(var)
    return original(self, var, *args, **kwargs)
environ.Env.get_value = get_value
import swagstore.settings.production
print(json.dumps(sorted(read)))
"""


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


def app_json() -> dict:
    return json.loads((ROOT / "app.json").read_text())


def variables_the_settings_read(tmp_path) -> set[str]:
    """Every variable the production settings read (on PostgreSQL, with Sentry on), from a clean environment."""
    env = {"PATH": os.environ.get("PATH", ""), "PYTHONPATH": str(ROOT), "HOME": str(tmp_path),
           "SECRET_KEY": "x" * 50, "DATABASE_URL": "postgres://user@db.invalid:5432/shop",
           "REDIS_URL": "redis://redis.invalid:6379/0", "SENTRY_DSN": "https://key@sentry.invalid/1",
           "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "metrics")}
    result = subprocess.run([sys.executable, "-c", SETTINGS_READ], cwd=tmp_path, env=env, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return set(json.loads(result.stdout.splitlines()[-1]))


def test_app_json_forms_every_procfile_process_but_the_release_step():
    processes = procfile_commands()
    assert "release" in processes  # run by the platform before each release, never scaled
    assert set(app_json()["formation"]) == set(processes) - {"release"}
    assert app_json()["formation"]["beat"]["quantity"] == 1  # two beats would schedule every sweep twice


def test_app_json_describes_every_variable_the_settings_and_procfile_read(tmp_path):
    wanted = variables_the_settings_read(tmp_path) | (procfile_variables() - PLATFORM_VARIABLES) | PROCESS_VARIABLES
    described = app_json()["env"]
    assert sorted(wanted - set(described)) == [], "variables app.json does not describe"
    assert sorted(set(described) - wanted) == [], "app.json describes variables nothing reads"
    assert [name for name, spec in described.items() if not spec.get("description")] == []
    assert described["DJANGO_SETTINGS_MODULE"]["value"] == "swagstore.settings.production"
    assert described["SECRET_KEY"]["generator"] == "secret"


def test_app_json_points_the_platform_health_check_at_readyz():
    (check,) = app_json()["healthchecks"]["web"]
    assert check["path"] == "/readyz"
