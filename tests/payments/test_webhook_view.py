"""Issue 21: the one plain webhook view. Signature checked once, body parsed once, the Event and its
intake row stored in one transaction; a replay stores nothing new; a refusal stores nothing."""

import json

import pytest
import stripe
from django.db import connection
from django.test.utils import CaptureQueriesContext
from djstripe.models import Event, WebhookEventTrigger

from payments.models import IntakeEvent
from tests.fakes.stripe import events

pytestmark = pytest.mark.django_db


@pytest.fixture
def verifications(monkeypatch):
    """Every call of Stripe's signature verifier, counted."""
    calls = []
    verify = stripe.WebhookSignature.verify_header

    def counted(*args, **kwargs):
        calls.append(args)
        return verify(*args, **kwargs)

    monkeypatch.setattr(stripe.WebhookSignature, "verify_header", counted)
    return calls


@pytest.fixture
def parses(monkeypatch):
    """Every json.loads of the delivery's body, counted (the body is parsed once)."""
    calls = []
    loads = json.loads

    def counted(text, *args, **kwargs):
        if isinstance(text, str) and '"type": "checkout.session.completed"' in text:
            calls.append(text)
        return loads(text, *args, **kwargs)

    monkeypatch.setattr(json, "loads", counted)
    return calls


def a_purchase(**fields) -> dict:
    return events.checkout_session_completed(session_id="cs_test_view", payment_intent="pi_view", **fields)


def test_a_signed_event_is_verified_once_parsed_once_and_stored_with_its_intake_row(webhook, client, verifications,
                                                                                   parses):
    event = a_purchase()

    response = webhook.post(client, event)

    assert response.status_code == 200, response.content
    assert response.content.decode() == event["id"]
    assert len(verifications) == 1
    assert len(parses) == 1
    stored = Event.objects.get(id=event["id"])
    assert (stored.type, stored.data, stored.api_version) == (event["type"], event["data"], events.API_VERSION)
    intake = IntakeEvent.objects.get(event_id=event["id"])
    assert (intake.kind, intake.object_id, intake.state) == ("purchase", "cs_test_view", "ready")
    assert not WebhookEventTrigger.objects.exists()


def test_the_event_and_its_intake_row_are_written_in_one_transaction(webhook, client):
    with CaptureQueriesContext(connection) as queries:
        assert webhook.post(client, a_purchase()).status_code == 200
    writes = [q["sql"] for q in queries.captured_queries if q["sql"].startswith("INSERT")]
    assert len(writes) == 2 and "djstripe_event" in writes[0] and "intakeevent" in writes[1]
    # The endpoint's lookup, then one atomic block (a savepoint inside the test's own transaction,
    # BEGIN … COMMIT in production) holding the two inserts, and nothing else: no re-reads, no updates.
    statements = [q["sql"].split()[0] for q in queries.captured_queries]
    assert statements == ["SELECT", "SAVEPOINT", "INSERT", "INSERT", "RELEASE"], statements


def test_a_replayed_delivery_stores_nothing_new(webhook, client, django_capture_on_commit_callbacks):
    event = a_purchase()
    assert webhook.post(client, event).status_code == 200
    IntakeEvent.objects.filter(event_id=event["id"]).update(state=IntakeEvent.State.DONE)
    before = (Event.objects.get(id=event["id"]).djstripe_updated, IntakeEvent.objects.get().state)

    for _ in range(3):
        assert webhook.post(client, event).status_code == 200

    assert Event.objects.count() == 1 and IntakeEvent.objects.count() == 1
    assert (Event.objects.get(id=event["id"]).djstripe_updated, IntakeEvent.objects.get().state) == before


def test_an_event_stored_before_its_intake_row_existed_gets_one_on_redelivery(webhook, client):
    event = a_purchase()
    assert webhook.post(client, event).status_code == 200
    IntakeEvent.objects.all().delete()

    assert webhook.post(client, event).status_code == 200

    assert IntakeEvent.objects.filter(event_id=event["id"]).count() == 1


@pytest.mark.parametrize("signature, reason", [
    (False, "header is missing"),
    ("t=1,v1=bad", "timestamp is more than"),
    ("v1=deadbeef", "has no timestamp"),
    ("wrong secret", "does not match"),
])
def test_an_unsigned_or_badly_signed_delivery_is_refused_storing_nothing(webhook, client, verifications,
                                                                       signature, reason):
    event = a_purchase()
    if signature == "wrong secret":
        signature = events.signature(events.body_of(event), "whsec_someone_else")

    response = webhook.post(client, event, signature=signature)

    assert response.status_code == 400
    assert reason in response.content.decode()
    assert len(verifications) <= 2  # a mismatch is checked again against a freshly read secret
    assert not Event.objects.exists() and not IntakeEvent.objects.exists()


def test_only_post_is_answered(webhook, client):
    assert client.get(webhook.url).status_code == 405


def test_a_rotated_secret_works_at_once_in_a_process_that_kept_the_old_one(webhook, client, verifications):
    from djstripe.models import WebhookEndpoint

    assert webhook.post(client, a_purchase()).status_code == 200  # this process now keeps the secret
    # Rotated elsewhere (the release phase's `stripe_endpoint`, another process): only the row changes.
    WebhookEndpoint.objects.update(secret="whsec_rotated")
    verifications.clear()

    rotated = events.checkout_session_completed(session_id="cs_test_rotated", payment_intent=None)
    assert webhook.post(client, rotated, secret="whsec_rotated").status_code == 200
    assert len(verifications) == 2  # the kept secret, then the one read again
    assert Event.objects.filter(id=rotated["id"]).exists()


def test_the_kept_secret_saves_the_endpoint_lookup(webhook, client):
    assert webhook.post(client, a_purchase()).status_code == 200
    with CaptureQueriesContext(connection) as queries:
        assert webhook.post(client, a_purchase(event_id="evt_second")).status_code == 200
    assert [q["sql"].split()[0] for q in queries.captured_queries] == ["SAVEPOINT", "INSERT", "INSERT", "RELEASE"]
