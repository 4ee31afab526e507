"""Management commands: stripe_endpoint, seed_demo, simulate_purchase (offline, against a live server)."""

import pytest
from django.core.management import CommandError, call_command
from djstripe.models import WebhookEndpoint

from inventory.models import Product, StockMovement
from payments.models import OfflineStripeObject, Order, StripeCall
from payments.offline.shapes import SHAPES_FILE
from tests.fakes.stripe import shapes


@pytest.mark.skipif(not shapes.PUBLISHED.exists(), reason="../shared/stripe/fixtures3.json is not beside this clone")
def test_vendored_shapes_are_stripes_published_fixtures():
    published = shapes.resources(shapes.PUBLISHED)
    vendored = shapes.resources(SHAPES_FILE)
    assert vendored == {name: published[name] for name in vendored}


@pytest.mark.django_db
def test_stripe_endpoint_creates_then_updates_keeping_the_url(settings, capsys):
    settings.STRIPE_WEBHOOK_SECRET = "whsec_first"
    call_command("stripe_endpoint", "--site-url", "https://shop.example")
    first = WebhookEndpoint.objects.get()
    assert "stripe listen --forward-to https://shop.example/stripe/webhook/" in capsys.readouterr().out
    settings.STRIPE_WEBHOOK_SECRET = "whsec_second"
    call_command("stripe_endpoint", "--site-url", "https://shop.example")
    second = WebhookEndpoint.objects.get()
    assert (second.djstripe_uuid, second.secret) == (first.djstripe_uuid, "whsec_second")
    assert second.url == f"https://shop.example/stripe/webhook/{first.djstripe_uuid}/"


@pytest.mark.django_db
@pytest.mark.parametrize("secret, message", [("", "not set"), ("sk_test_oops", "must start with whsec_")])
def test_stripe_endpoint_refuses_a_missing_or_wrong_secret(settings, secret, message):
    settings.STRIPE_WEBHOOK_SECRET = secret
    with pytest.raises(CommandError, match=message):
        call_command("stripe_endpoint")
    assert not WebhookEndpoint.objects.exists()


@pytest.mark.django_db
def test_seed_demo_is_safe_to_run_twice():
    call_command("seed_demo")
    counts = (Product.objects.count(), StockMovement.objects.count(), OfflineStripeObject.objects.count())
    stock = dict(Product.objects.values_list("pk", "inventory"))
    call_command("seed_demo")
    assert (Product.objects.count(), StockMovement.objects.count(), OfflineStripeObject.objects.count()) == counts
    assert dict(Product.objects.values_list("pk", "inventory")) == stock
    # The tee in four sizes, one row each, in both booths; every variant has its own Payment Link and picture.
    tees = Product.objects.filter(stripe_product_id="prod_DemoTee")
    assert sorted(tees.values_list("store_id", "size")) == sorted(
        (store, size) for store in ("store_DEMO01", "store_DEMO02") for size in ("S", "M", "L", "XL"))
    assert all(p.payment_link_id and p.image_url.endswith("/static/demo/tee.svg") for p in tees)
    call_command("reconcile_stock")


@pytest.mark.django_db(transaction=True)
def test_simulate_purchase_sells_out_offline_and_gives_money_back(live_server, settings):
    # given: the offline store (no Stripe key), the demo catalogue, a tote bag with 1 left
    settings.STRIPE_WEBHOOK_SECRET = "whsec_demo_test"
    call_command("stripe_endpoint", "--site-url", live_server.url)
    call_command("seed_demo")
    tote = Product.objects.get(stripe_product_id="prod_DemoTote")
    assert tote.inventory == 1
    # when: two buyers
    for _ in range(2):
        call_command("simulate_purchase", "prod_DemoTote", "--site-url", live_server.url)
    # then
    tote.refresh_from_db()
    assert tote.inventory == 0 and tote.payment_link_active is False
    statuses = sorted(Order.objects.values_list("status", flat=True))
    assert statuses == [Order.Status.CANCELLED, Order.Status.FULFILLED]
    recorded = set(StripeCall.objects.filter(mode=StripeCall.Mode.OFFLINE).values_list("operation", flat=True))
    assert {"payment_intent.capture", "payment_intent.cancel", "payment_link.update"} <= recorded
    assert not StripeCall.objects.filter(mode=StripeCall.Mode.LIVE).exists()
    assert OfflineStripeObject.objects.get(pk=tote.payment_link_id).data["active"] is False


@pytest.mark.django_db
@pytest.mark.parametrize("args, message", [
    (["prod_Nope"], "No product 'prod_Nope'"),
    (["prod_DemoTee"], "several stores"),
    (["prod_DemoTote", "--quantity", "0"], "between 1 and"),
])
def test_simulate_purchase_refuses_bad_input(settings, args, message):
    settings.STRIPE_WEBHOOK_SECRET = "whsec_demo_test"
    call_command("stripe_endpoint")
    call_command("seed_demo")
    with pytest.raises(CommandError, match=message):
        call_command("simulate_purchase", *args)
    assert not Order.objects.exists()


@pytest.mark.django_db
def test_simulate_purchase_refuses_when_stripe_keys_are_set(settings):
    settings.STRIPE_SECRET_KEY = "sk_test_something"
    with pytest.raises(CommandError, match="offline gateway"):
        call_command("simulate_purchase", "prod_DemoTote")
