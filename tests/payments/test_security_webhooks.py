"""Issue 9, findings 6, 7, 8 and 13: what reaches the webhook endpoint, signed or not.

Every refusal is a 400 with its reason that stores nothing; an event of a type we do not own is
stored and answered 2xx without asking Stripe anything inside the request.
"""

import json
import time

import pytest
import stripe
from django.contrib.auth import get_user_model
from djstripe.models import Event, WebhookEventTrigger

from tests.fakes.stripe import events, shape

pytestmark = pytest.mark.django_db


@pytest.fixture
def stripe_unreachable(monkeypatch):
    """Every Stripe SDK request fails as a network outage would, and is counted."""
    calls = []

    def unreachable(self, method, url, *args, **kwargs):
        calls.append((method, url))
        raise stripe.APIConnectionError("Stripe is out of reach (test)")

    monkeypatch.setattr(stripe._api_requestor._APIRequestor, "request_raw", unreachable)
    return calls


def a_purchase() -> dict:
    return events.checkout_session_completed(session_id="cs_test_sec", payment_intent="pi_sec")


# --- 6. Types we do not own: stored, 2xx, no Stripe call -----------------------------------------------

@pytest.mark.parametrize("event_type, object_name", [("charge.succeeded", "charge"),
                                                     ("payment_intent.created", "payment_intent"),
                                                     ("product.updated", "product"),
                                                     ("customer.updated", "customer")])
def test_an_event_we_do_not_own_is_stored_without_calling_stripe(webhook, client, stripe_unreachable, settings,
                                                                  event_type, object_name):
    settings.STRIPE_SECRET_KEY = "sk_test_unreachable"
    event = events.event(event_type, shape(object_name), id=f"evt_other_{object_name}")
    response = webhook.post(client, event)
    assert response.status_code == 200, response.content
    assert Event.objects.get(id=event["id"]).type == event_type
    assert stripe_unreachable == []


# --- 7. Signed but not an Event: 400, nothing stored, and the admin still renders ------------------------

@pytest.mark.parametrize("change", [
    {"type": None}, {"data": None}, {"data": {"object": "cs_1"}}, {"created": "yesterday"}, {"created": 1.5},
    {"created": True}, {"id": "evt_" + "x" * 300}, {"id": 12}, {"type": "x" * 300}, {"livemode": "no"},
    {"api_version": {"v": 1}}, {"request": {"id": "r" * 80}},
])
def test_a_signed_body_that_is_not_an_event_is_refused(webhook, client, change):
    event = {**a_purchase(), **change}
    event = {k: v for k, v in event.items() if v is not None}
    response = webhook.post(client, event)
    assert response.status_code == 400
    assert "Not a Stripe event" in response.content.decode()
    assert not Event.objects.exists() and not WebhookEventTrigger.objects.exists()


def test_the_admin_lists_stored_events(webhook, client):
    assert webhook.post(client, a_purchase()).status_code == 200
    staff = get_user_model().objects.create_superuser("boss", "boss@example.com", "pw")
    client.force_login(staff)
    event = Event.objects.get()
    # An accepted delivery is its Event; no dj-stripe delivery row is kept for it.
    assert not WebhookEventTrigger.objects.exists()
    for url in ["/admin/djstripe/event/", f"/admin/djstripe/event/{event.pk}/change/",
                "/admin/djstripe/webhookeventtrigger/"]:
        assert client.get(url).status_code == 200, url


# --- 8. Unverified deliveries are never kept ----------------------------------------------------------------

@pytest.mark.parametrize("signature", ["t=1,v1=bad", "nonsense", None])
def test_a_badly_signed_delivery_is_not_stored(webhook, client, signature):
    body = json.dumps({**a_purchase(), "padding": "x" * 2_000_000})
    signature = signature or events.signature(body, "whsec_someone_else")
    response = webhook.post(client, body, signature=signature)
    assert response.status_code == 400
    assert not WebhookEventTrigger.objects.exists() and not Event.objects.exists()


# --- 13. The tolerance holds both ways -------------------------------------------------------------------------

@pytest.mark.parametrize("offset, status", [(-3600, 400), (3600, 400), (400, 400), (-60, 200), (60, 200)])
def test_signatures_dated_too_far_either_way_are_refused(webhook, client, offset, status):
    response = webhook.post(client, a_purchase(), timestamp=int(time.time()) + offset)
    assert response.status_code == status
    assert Event.objects.exists() == (status == 200)
