"""The runbook's secret rotation (README, "The webhook secret is rotated"): while Stripe signs with
the old and the new secret, either stored secret takes the delivery; a delivery refused in between
is taken when Stripe delivers it again, once."""

import time
from io import StringIO

import pytest
from django.core.management import call_command

from payments.models import IntakeEvent
from tests.conftest import WEBHOOK_SECRET
from tests.fakes.stripe import events
from tests.payments.helpers import purchase, stocked_product

pytestmark = pytest.mark.django_db(transaction=True)

NEW_SECRET = "whsec_rolled_new_secret"


def signed_by(body: str, *secrets: str) -> str:
    """Stripe-Signature as Stripe sends it while an old secret has not expired: a v1 per secret."""
    at = int(time.time())
    return ",".join([f"t={at}"] + [events.signature(body, s, timestamp=at).split(",")[1] for s in secrets])


def test_rolling_the_secret_loses_no_delivery(stripe_fake, webhook, client, settings):
    product = stocked_product(stripe_fake, 5)
    before, during, late = (purchase(stripe_fake, product) for _ in range(3))
    # given: Stripe rolled the secret and signs with both while the store still holds the old one
    both = signed_by(events.body_of(before), WEBHOOK_SECRET, NEW_SECRET)
    assert webhook.post(client, before, signature=both).status_code == 200
    # … a delivery signed with the new secret alone (the old one expired too soon) is refused
    assert webhook.post(client, late, secret=NEW_SECRET).status_code == 400
    # when: the new secret is set and the release step stores it
    settings.STRIPE_WEBHOOK_SECRET = NEW_SECRET
    call_command("stripe_endpoint", stdout=StringIO())
    # then: deliveries signed with both, or with the new alone (Stripe retrying the refused one), are taken
    both = signed_by(events.body_of(during), WEBHOOK_SECRET, NEW_SECRET)
    assert webhook.post(client, during, signature=both).status_code == 200
    assert webhook.post(client, late, secret=NEW_SECRET).status_code == 200
    assert webhook.post(client, late, secret=WEBHOOK_SECRET).status_code == 400  # the old one is done with
    assert IntakeEvent.objects.filter(event_id__in=[e["id"] for e in (before, during, late)]).count() == 3
