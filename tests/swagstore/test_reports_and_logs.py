"""Error reports (Sentry, only with SENTRY_DSN, nothing personal) and log lines (one per webhook and
per fulfilment batch, JSON with LOG_FORMAT=json)."""

import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from pythonjsonlogger.json import JsonFormatter

from tests.payments.helpers import purchase, stocked_product

ROOT = Path(__file__).resolve().parents[2]

# A request that fails with a buyer's e-mail in its body, a session cookie and the webhook secret in a
# local variable, reported through a transport that keeps the events instead of sending them.
FAILING_REQUEST = """
import json, django, sentry_sdk
from django.urls import path
django.setup()
from sentry_sdk.transport import Transport
events = []
class Keep(Transport):
    def capture_envelope(self, envelope):
        events.extend(item.payload.json for item in envelope.items if item.type == "event")
client = sentry_sdk.get_client()
client.transport = Keep(client.options)
def boom(request):
    webhook_secret = "whsec_never_reported"
    raise RuntimeError("boom")
from swagstore import urls
urls.urlpatterns.insert(0, path("boom/", boom))
from django.test import Client
Client(raise_request_exception=False).post("/boom/", {"email": "buyer@example.com"}, HTTP_COOKIE="sessionid=s3cr3t", HTTP_HOST="127.0.0.1",
                                           HTTP_X_FORWARDED_FOR="203.0.113.9")
sentry_sdk.flush()
print(json.dumps({"active": client.is_active(), "events": events}))
"""


def run_failing_request(**env) -> dict:
    result = subprocess.run([sys.executable, "-c", FAILING_REQUEST], cwd=ROOT, capture_output=True, text=True,
                            timeout=120, env={**os.environ, "DJANGO_SETTINGS_MODULE": "swagstore.settings.test", **env})
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.splitlines()[-1])


def test_sentry_reports_an_error_without_personal_data_or_secrets():
    reported = run_failing_request(SENTRY_DSN="https://public@sentry.invalid/1")
    (event,) = reported["events"]
    assert event["exception"]["values"][-1]["value"] == "boom"
    assert event["transaction"] == "/boom/" and event["request"]["data"] == ""  # the body stayed here
    text = json.dumps(event)
    for secret in ("buyer@example.com", "whsec_never_reported", "s3cr3t", "203.0.113.9"):
        assert secret not in text


def test_without_a_dsn_nothing_is_reported():
    reported = run_failing_request(SENTRY_DSN="")
    assert reported == {"active": False, "events": []}


@pytest.mark.django_db(transaction=True)
def test_one_log_line_per_webhook_and_per_batch_with_ids_and_timings(stripe_fake, webhook, client, caplog):
    # given
    product = stocked_product(stripe_fake, 1)
    event = purchase(stripe_fake, product)
    # when
    with caplog.at_level(logging.INFO):
        assert webhook.post(client, event).status_code == 200
    # then: one line for the delivery, one for the batch that applied it, each JSON-ready
    (delivery,) = [r for r in caplog.records if r.name == "payments.intake.views"]
    (batch,) = [r for r in caplog.records if r.name == "payments.fulfilment.purchases"]
    line = json_line(delivery)
    assert (line["event_id"], line["event_type"], line["level"]) == (event["id"], event["type"], "INFO")
    assert line["duration_ms"] > 0 and line["outcome"] == "accepted"
    line = json_line(batch)
    assert (line["events"], line["done"], line["first_event_id"], line["last_event_id"]) == (1, 1, event["id"], event["id"])
    assert line["duration_ms"] > 0


def json_line(record: logging.LogRecord) -> dict:
    """The record as LOG_FORMAT=json writes it: one line, one object."""
    options = {k: v for k, v in settings.LOG_FORMATTERS["json"].items() if k != "()"}
    text = JsonFormatter(**options).format(record)
    assert "\n" not in text
    return json.loads(text)


def test_log_format_json_makes_every_line_json(tmp_path):
    code = "import django, logging; django.setup(); logging.getLogger('payments').warning('hello', extra={'order': 7})"
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120,
                            env={**os.environ, "DJANGO_SETTINGS_MODULE": "swagstore.settings.test", "LOG_FORMAT": "json"})
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stderr.splitlines() if line.strip()]
    assert {"logger": "payments", "level": "WARNING", "message": "hello", "order": 7}.items() <= lines[-1].items()


def test_an_unknown_log_format_stops_the_process_with_one_line():
    result = subprocess.run([sys.executable, "-c", "import django; django.setup()"], cwd=ROOT, capture_output=True,
                            text=True, timeout=120,
                            env={**os.environ, "DJANGO_SETTINGS_MODULE": "swagstore.settings.test", "LOG_FORMAT": "xml"})
    assert result.returncode != 0
    assert "LOG_FORMAT must be one of ['json', 'plain'], not 'xml'." in result.stderr
