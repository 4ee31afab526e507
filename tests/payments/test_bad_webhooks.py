"""Forged, unsigned, stale and malformed webhooks: a 4xx and nothing changed."""

import json
import time
import uuid

import pytest
from djstripe.models import Event

from inventory.models import Product, StockMovement
from payments.models import Order
from tests.fakes.stripe import events

pytestmark = pytest.mark.django_db


@pytest.fixture
def product(make_product):
    return make_product(inventory=3)


@pytest.fixture
def event(product):
    return events.checkout_session_completed(session_id="cs_test_bad", payment_intent="pi_bad",
                                      payment_link=product.payment_link_id, store_id=product.store_id)


def _assert_nothing_changed(product):
    assert Product.objects.get(pk=product.pk).inventory == 3
    assert StockMovement.objects.filter(product=product).count() == 1  # the initial stock only
    assert not Event.objects.exists()
    assert not Order.objects.exists()


def test_unsigned_webhook_is_refused(webhook, client, event, product, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = webhook.post(client, event, signature=False)
    assert response.status_code == 400
    assert callbacks == []
    _assert_nothing_changed(product)


def test_forged_signature_is_refused(webhook, client, event, product, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = webhook.post(client, event, secret="whsec_someone_else")
    assert response.status_code == 400
    assert callbacks == []
    _assert_nothing_changed(product)


def test_tampered_body_is_refused(webhook, client, event, product):
    body = json.dumps(event)
    signature = events.signature(body, webhook.secret)
    tampered = body.replace('"quantity": 1', '"quantity": 2').replace("cs_test_bad", "cs_test_evil")
    assert webhook.post(client, tampered, signature=signature).status_code == 400
    _assert_nothing_changed(product)


def test_stale_timestamp_is_refused(webhook, client, event, product):
    an_hour_ago = int(time.time()) - 3600
    assert webhook.post(client, event, timestamp=an_hour_ago).status_code == 400
    _assert_nothing_changed(product)


@pytest.mark.parametrize("body", ["{not json", "[]", json.dumps({"id": "evt_1"}), ""])
def test_malformed_body_is_refused_even_when_signed(webhook, client, product, body):
    assert webhook.post(client, body).status_code == 400
    _assert_nothing_changed(product)


def test_unknown_endpoint_is_not_found(webhook, client, event, product):
    body = json.dumps(event)
    response = client.post(f"/stripe/webhook/{uuid.uuid4()}/", data=body, content_type="application/json",
                           HTTP_STRIPE_SIGNATURE=events.signature(body, webhook.secret))
    assert response.status_code == 404
    _assert_nothing_changed(product)


def test_debug_secret_override_header_is_not_honoured(webhook, client, event, product, settings):
    # dj-stripe lets a request name its own secret when DEBUG is on (meant for `stripe listen`);
    # our middleware drops that header, so even a DEBUG demo server cannot be sent forged sales.
    settings.DEBUG = True
    body = json.dumps(event)
    response = client.post(webhook.url, data=body, content_type="application/json",
                           HTTP_STRIPE_SIGNATURE=events.signature(body, "whsec_attacker"),
                           HTTP_X_DJSTRIPE_WEBHOOK_SECRET="whsec_attacker")
    assert response.status_code == 400
    _assert_nothing_changed(product)
