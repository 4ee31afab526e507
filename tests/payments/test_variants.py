"""Sizes through every way of buying, on PostgreSQL: a Payment Link sale (the Stripe fake, real
SDK), our checkout (API), the held checkout via /q/<code>/, the waitlist, simulate_purchase; and
the race for the last unit of one size while another size sells (real threads)."""

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db.models import Sum
from django.test import Client
from django.urls import reverse

from inventory.models import Product, QrMode, Reservation, StockMovement, WaitlistEntry
from inventory.selectors import stock_drift
from inventory.services import stock_set
from payments.models import Checkout, Order, StripeCall
from tests.factories import store_create, variants_create
from tests.payments.helpers import payment_link_at, purchase, run_in_threads
from tests.payments.test_api import post
from tests.payments.test_held_checkout import _pay, _scan

pytestmark = pytest.mark.django_db(transaction=True)


def stocked_sizes(fake, sizes: dict[str, int], **fields) -> dict[str, Product]:
    """A tee in sizes, each with its Payment Link at the Stripe fake before its first stock."""
    return variants_create(sizes=sizes, link_at=payment_link_at(fake), **fields)


def sizes_in_stock(tee: dict[str, Product]) -> dict[str, int]:
    return dict(Product.objects.filter(pk__in=[v.pk for v in tee.values()]).values_list("size", "inventory"))


# ---- a Payment Link sale ----

def test_a_payment_link_sale_takes_its_size_and_switches_only_that_link_off(stripe_fake, webhook, client):
    # given
    tee = stocked_sizes(stripe_fake, {"S": 2, "M": 1})
    event = purchase(stripe_fake, tee["M"], capture="manual")
    # when
    assert webhook.post(client, event).status_code == 200
    # then
    assert sizes_in_stock(tee) == {"S": 2, "M": 0}
    order = Order.objects.get(checkout_session_id=event["data"]["object"]["id"])
    assert order.status == Order.Status.FULFILLED
    assert [(line.product_id, line.stripe_price_id) for line in order.lines.all()] == [
        (tee["M"].pk, tee["M"].stripe_price_id)]
    assert stripe_fake.get("payment_link", tee["M"].payment_link_id)["active"] is False
    assert stripe_fake.get("payment_link", tee["S"].payment_link_id)["active"] is True


def test_the_last_m_goes_to_one_buyer_while_l_keeps_selling(stripe_fake, webhook, settings):
    settings.STRIPE_TIMEOUT_SECONDS = 15  # two cores, many threads: slowness is not what this tests
    # given: one M left and ten buyers for it; twelve L and eight buyers; all at once
    tee = stocked_sizes(stripe_fake, {"M": 1, "L": 12})
    m_events = [purchase(stripe_fake, tee["M"], capture="manual") for _ in range(10)]
    l_events = [purchase(stripe_fake, tee["L"], capture="manual") for _ in range(8)]
    events = [e for pair in zip(m_events, l_events + [None] * 2) for e in pair if e is not None]
    # when
    results = run_in_threads(lambda e: webhook.post(Client(), e).status_code, [(e,) for e in events])
    # then
    assert results == [200] * len(events)

    def statuses(evts):
        orders = Order.objects.filter(checkout_session_id__in=[e["data"]["object"]["id"] for e in evts])
        return sorted(orders.values_list("status", flat=True))

    assert statuses(m_events) == sorted([Order.Status.FULFILLED] + [Order.Status.CANCELLED] * 9)
    assert statuses(l_events) == [Order.Status.FULFILLED] * 8
    assert sizes_in_stock(tee) == {"M": 0, "L": 4}
    for size, sold in (("M", 1), ("L", 8)):
        sales = StockMovement.objects.filter(product=tee[size], reason=StockMovement.Reason.SALE)
        assert (sales.count(), -sales.aggregate(total=Sum("delta"))["total"]) == (sold, sold)
    assert stock_drift() == []
    assert stripe_fake.get("payment_link", tee["M"].payment_link_id)["active"] is False
    link_l = stripe_fake.get("payment_link", tee["L"].payment_link_id)
    assert link_l["active"] is True
    assert link_l["restrictions"]["completed_sessions"]["limit"] == link_l["restrictions"]["completed_sessions"][
        "count"] + 4


# ---- our checkout, through the API ----

@pytest.fixture
def offline_tee(stripe_offline):
    return variants_create(store=store_create(name="Hall A"), sizes={"S": 3, "M": 1})


def test_api_stock_check_needs_the_size_of_a_product_in_sizes(client, offline_tee):
    m = offline_tee["M"]
    status, body = post(client, "/api/stock-check", {"store": m.store_id, "product": m.stripe_product_id, "quantity": 1})
    assert status == 400
    assert "comes in several variants" in body["detail"] and f"{m.stripe_price_id} (M)" in body["detail"]

    status, body = post(client, "/api/stock-check", {"store": m.store_id, "product": m.stripe_product_id,
                                                     "price": m.stripe_price_id, "quantity": 2})
    assert status == 409
    assert (body["price"], body["size"], body["available"], body["name"]) == (m.stripe_price_id, "M", 1, "Tee (M)")

    status, body = post(client, "/api/stock-check", {"store": m.store_id, "product": m.stripe_product_id,
                                                     "price": "price_nope", "quantity": 1})
    assert status == 404


def test_api_checkout_holds_the_size_asked_for(client, offline_tee):
    s, m = offline_tee["S"], offline_tee["M"]
    status, body = post(client, "/api/checkouts", {"store": m.store_id, "lines": [
        {"product": m.stripe_product_id, "price": m.stripe_price_id, "quantity": 1},
        {"product": s.stripe_product_id, "price": s.stripe_price_id, "quantity": 2}]})

    assert status == 201, body
    held = dict(Reservation.objects.filter(hold_ref=body["checkout"]).values_list("product_id", "quantity"))
    assert held == {m.pk: 1, s.pk: 2}
    create = StripeCall.objects.get(operation="payment_intent.create")
    assert sorted(create.params["metadata"]["lines"].split(",")) == sorted([
        f"{m.stripe_product_id}:{m.stripe_price_id}x1", f"{s.stripe_product_id}:{s.stripe_price_id}x2"])

    # the last M is held: a second buyer is told which size is short
    status, body = post(client, "/api/checkouts", {"store": m.store_id, "lines": [
        {"product": m.stripe_product_id, "price": m.stripe_price_id, "quantity": 1}]})
    assert status == 409
    assert body["shortfalls"] == [{"product": m.stripe_product_id, "price": m.stripe_price_id, "name": "Tee (M)",
                                   "requested": 1, "available": 0}]


def test_checkout_form_on_the_product_page_reserves_the_size(client, offline_tee):
    m = offline_tee["M"]
    response = client.post(reverse("payments:checkout_start"), {
        "store": m.store_id, "product": m.stripe_product_id, "price": m.stripe_price_id, "quantity": 1})

    assert response.status_code == 302
    checkout = Checkout.objects.get()
    assert [(line.product_id, line.quantity) for line in checkout.lines.all()] == [(m.pk, 1)]


def test_waitlist_is_per_size(client, offline_tee):
    s, m = offline_tee["S"], offline_tee["M"]
    stock_set(product=m, level=0, source="test-count")

    status, body = post(client, "/api/waitlist", {"store": m.store_id, "product": m.stripe_product_id,
                                                  "price": m.stripe_price_id, "email": "fan@example.com"})
    assert status == 202 and body["price"] == m.stripe_price_id
    assert "Tee (M) is back" in body["detail"]
    status, _ = post(client, "/api/waitlist", {"store": s.store_id, "product": s.stripe_product_id,
                                               "price": s.stripe_price_id, "email": "fan@example.com"})
    assert status == 409  # S is in stock: nothing to wait for
    assert list(WaitlistEntry.objects.values_list("product_id", flat=True)) == [m.pk]


# ---- the held checkout, from a size's own QR code ----

def test_each_size_has_its_own_qr_code_which_holds_that_size(client, webhook, monkeypatch, stripe_offline):
    store = store_create()
    store.qr_mode = QrMode.HELD_CHECKOUT
    store.save()
    tee = variants_create(store=store, sizes={"S": 3, "M": 1})
    assert tee["S"].scan_code != tee["M"].scan_code

    response = _scan(client, tee["M"], 1)

    checkout = Checkout.objects.get()
    assert response.status_code == 303 and response["Location"] == checkout.session_url
    create = StripeCall.objects.get(operation="checkout.session.create")
    assert create.params["line_items"] == [{"price": tee["M"].stripe_price_id, "quantity": 1}]
    assert create.params["metadata"]["price"] == tee["M"].stripe_price_id
    # the M is held for this buyer: the next one is turned away before paying, S still sells
    assert _scan(Client(), tee["M"], 1).status_code == 409
    assert _scan(Client(), tee["S"], 1).status_code == 303
    assert _pay(webhook, checkout, monkeypatch) == 200
    assert sizes_in_stock(tee) == {"S": 3, "M": 0}


# ---- the demo: one size sold out through simulate_purchase, the others on sale ----

def test_simulate_purchase_sells_one_size_out_while_the_others_stay_on_sale(live_server, settings, stripe_offline):
    settings.STRIPE_WEBHOOK_SECRET = "whsec_demo_test"
    call_command("stripe_endpoint", "--site-url", live_server.url)
    call_command("seed_demo")
    tees = Product.objects.with_availability().filter(store_id="store_DEMO01", stripe_product_id="prod_DemoTee")
    assert {p.size: p.inventory for p in tees} == {"S": 4, "M": 1, "L": 6, "XL": 2}

    call_command("simulate_purchase", "prod_DemoTee", "--store", "store_DEMO01", "--size", "M",
                 "--site-url", live_server.url)

    tees = {p.size: p for p in Product.objects.with_availability().filter(
        store_id="store_DEMO01", stripe_product_id="prod_DemoTee")}
    assert {size: p.inventory for size, p in tees.items()} == {"S": 4, "M": 0, "L": 6, "XL": 2}
    assert tees["M"].sold_out and not tees["M"].payable and not tees["M"].payment_link_active
    assert all(p.payable for size, p in tees.items() if size != "M")
    call_command("reconcile_stock")


def test_simulate_purchase_asks_which_size(settings, stripe_offline):
    settings.STRIPE_WEBHOOK_SECRET = "whsec_demo_test"
    call_command("stripe_endpoint")
    call_command("seed_demo")
    with pytest.raises(CommandError, match=r"comes in S \(price_DemoTeeS\), M .*pass --size"):
        call_command("simulate_purchase", "prod_DemoTee", "--store", "store_DEMO01")
    with pytest.raises(CommandError, match="none matches --size XXL"):
        call_command("simulate_purchase", "prod_DemoTee", "--store", "store_DEMO01", "--size", "XXL")
