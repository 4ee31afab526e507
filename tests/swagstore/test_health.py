"""/healthz and /readyz: what a platform's probe reads, reached by address over plain HTTP."""

import json

import pytest
from django.db import connection
from django.db.migrations.recorder import MigrationRecorder

from swagstore import health
from tests.faults.processes import free_port

PROBE = {"HTTP_HOST": "10.1.2.3:5000"}  # by address, as a platform's probe: not in ALLOWED_HOSTS


@pytest.fixture
def migrations_unchecked(monkeypatch):
    monkeypatch.setattr(health, "_migrations_seen_applied", False)


def test_healthz_answers_without_the_database(client):
    # No django_db mark: pytest-django fails any database access here.
    response = client.get("/healthz", **PROBE)
    assert response.status_code == 200 and response.content == b"ok\n"


@pytest.mark.django_db
def test_readyz_is_ready_when_database_redis_and_migrations_are(client, migrations_unchecked):
    response = client.get("/readyz", **PROBE)
    assert response.status_code == 200, response.content
    assert response.json() == {"status": "ready"}


@pytest.mark.django_db
def test_readyz_names_unapplied_migrations(client, migrations_unchecked):
    # given: the newest inventory migration is not recorded as applied
    newest = MigrationRecorder.Migration.objects.filter(app="inventory").latest("applied")
    newest.delete()
    # when
    response = client.get("/readyz", **PROBE)
    # then
    assert response.status_code == 503
    assert response.json() == {"status": "not ready", "problems": {
        "migrations": "1 migration not applied (run the release step: manage.py migrate)"}}


@pytest.mark.django_db
def test_readyz_says_redis_does_not_answer_without_its_address(client, settings, migrations_unchecked):
    settings.REDIS_URL = f"redis://:hunter2@127.0.0.1:{free_port()}/0"
    response = client.get("/readyz", **PROBE)
    assert response.status_code == 503
    assert response.json()["problems"] == {"redis": "does not answer (ConnectionError)"}
    assert_tells_no_secret(response)


def test_readyz_says_the_database_does_not_answer_without_its_address(client, database_down, migrations_unchecked):
    response = client.get("/readyz", **PROBE)
    assert response.status_code == 503
    assert response.json()["problems"] == {"database": "does not answer (OperationalError)"}
    assert_tells_no_secret(response)


def test_probes_answer_only_get(client):
    response = client.post("/healthz", **PROBE)
    assert response.status_code == 405 and response["Allow"] == "GET, HEAD"


def assert_tells_no_secret(response) -> None:
    body = json.dumps(response.json())
    for leak in ("127.0.0.1", "hunter2", "postgres", "redis://", connection.settings_dict["NAME"], "Django", "5.2"):
        assert leak not in body, f"{leak!r} in {body}"
