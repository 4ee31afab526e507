"""Durable intake: a purchase is a row in PostgreSQL before the webhook answers, whatever the broker does."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from inventory.models import Product
from payments import tasks
from payments.models import IntakeEvent, Order
from payments.worker_poll import sweep_once
from tests.payments.helpers import purchase, stocked_product

pytestmark = pytest.mark.django_db(transaction=True)


def test_webhook_answers_2xx_and_keeps_the_purchase_while_the_broker_is_down(stripe_fake, webhook, client,
                                                                             broker_down):
    # given
    product = stocked_product(stripe_fake, 2)
    event = purchase(stripe_fake, product)
    # when: delivered, then delivered again (Stripe retries until it hears 2xx; here it did)
    first, again = webhook.post(client, event), webhook.post(client, event)
    # then: stored once, pending, nothing applied yet
    assert (first.status_code, again.status_code) == (200, 200)
    assert IntakeEvent.objects.filter(event_id=event["id"], state=IntakeEvent.State.READY).count() == 1
    assert not Order.objects.exists()
    assert Product.objects.get(pk=product.pk).inventory == 2


def test_the_sweeper_applies_what_no_bell_announced_exactly_once(stripe_fake, webhook, client, broker_down):
    product = stocked_product(stripe_fake, 2)
    event = purchase(stripe_fake, product)
    assert webhook.post(client, event).status_code == 200
    broker_down.undo()  # Redis is back
    IntakeEvent.objects.update(received_at=timezone.now() - timedelta(seconds=10),
                               next_attempt_at=timezone.now() - timedelta(seconds=10))  # pending a while

    tasks.durable_work_sweep.delay()
    assert webhook.post(client, event).status_code == 200  # a late redelivery changes nothing

    order = Order.objects.get(checkout_session_id=event["data"]["object"]["id"])
    assert order.status == Order.Status.FULFILLED and order.capture == Order.Capture.CAPTURED
    assert Product.objects.get(pk=product.pk).inventory == 1
    assert IntakeEvent.objects.get(event_id=event["id"]).state == IntakeEvent.State.DONE
    call_command("reconcile_stock", stdout=StringIO())


def test_reconcile_names_a_stored_purchase_that_was_never_applied(stripe_fake, webhook, client, broker_down):
    product = stocked_product(stripe_fake, 2)
    event = purchase(stripe_fake, product)
    assert webhook.post(client, event).status_code == 200

    with pytest.raises(CommandError) as failure:
        call_command("reconcile_stock", stdout=StringIO())

    assert f"Stripe event {event['id']} (checkout.session.completed" in str(failure.value)
    assert "still waiting" in str(failure.value)
    call_command("reconcile_stock", "--grace-seconds", "600", stdout=StringIO())  # still in flight: fine


def test_a_redelivery_rings_again_for_work_still_pending(stripe_fake, webhook, client, broker_down):
    product = stocked_product(stripe_fake, 1)
    event = purchase(stripe_fake, product)
    assert webhook.post(client, event).status_code == 200
    broker_down.undo()

    assert webhook.post(client, event).status_code == 200  # Stripe's retry: the bell is heard now

    assert Order.objects.get(checkout_session_id=event["data"]["object"]["id"]).status == Order.Status.FULFILLED
    assert IntakeEvent.objects.filter(event_id=event["id"]).count() == 1


def test_the_workers_own_postgres_sweeper_needs_no_broker(stripe_fake, webhook, client, broker_down):
    # given: a purchase stored while no bell could ring, and the broker still down
    product = stocked_product(stripe_fake, 1)
    event = purchase(stripe_fake, product)
    assert webhook.post(client, event).status_code == 200
    IntakeEvent.objects.update(received_at=timezone.now() - timedelta(seconds=10),
                               next_attempt_at=timezone.now() - timedelta(seconds=10))
    # when: the sweeper thread's round in a worker that takes the sales queue (it reads PostgreSQL only)
    sweep_once(takes_sales=True)
    # then
    assert Order.objects.get(checkout_session_id=event["data"]["object"]["id"]).status == Order.Status.FULFILLED
    assert Product.objects.get(pk=product.pk).inventory == 0
