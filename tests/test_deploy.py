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


def test_procfile_declares_web_worker_beat_and_release():
    processes = dict(line.split(":", 1) for line in (ROOT / "Procfile").read_text().splitlines() if line.strip())
    assert set(processes) == {"web", "worker", "beat", "release"}
    assert "gunicorn swagstore.asgi:application" in processes["web"] and "$PORT" in processes["web"]
    assert "uvicorn_worker.UvicornWorker" in processes["web"]  # ASGI: HTTP and WebSockets
    assert "celery -A swagstore worker" in processes["worker"]
    assert "migrate" in processes["release"] and "stripe_endpoint" in processes["release"]
