"""Held checkout (issue 10), offline: scan → hold → Checkout Session → pay or leave or lapse.

The offline gateway plays Stripe here (the demo's path); test_held_checkout_stripe.py runs the
same flow against the Stripe fake, whose every request is checked against Stripe's spec.
"""

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from inventory.models import Product, QrMode, Reservation, StockMovement
from inventory.services import product_link_pause, product_scan_code_renew
from payments.gateway import get_gateway
from payments.checkout.session_params import held_checkout_leave_url
from payments.models import Checkout, StripeCall, StripeJob
from payments.offline.simulator import checkout_session_pay_offline, signed_event
from payments.tasks import checkouts_sweep
from tests.factories import offline_link

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def held_product(stripe_offline, make_store, make_product):
    store = make_store()
    store.qr_mode = QrMode.HELD_CHECKOUT
    store.save()
    # Its Payment Link exists at the offline gateway, so following its stock succeeds (a link
    # Stripe refuses to update is set aside for staff, and reconcile_stock would name it).
    return make_product(store=store, inventory=3, max_per_checkout=2, link_at=offline_link)


def _available(product) -> int:
    return Product.objects.with_availability().get(pk=product.pk).available


def _scan(client, product, quantity, **extra):
    return client.post(reverse("payments:scan", args=[product.scan_code]), {"quantity": quantity}, **extra)


def _session_creates() -> list[StripeCall]:
    return list(StripeCall.objects.filter(operation="checkout.session.create"))


def _pay(webhook, checkout: Checkout, monkeypatch) -> int:
    """The buyer pays on the simulated hosted page; Stripe's signed event reaches our webhook."""
    posted = {}

    def deliver(delivery, *, url, timeout=30.0):
        posted["event"] = delivery.body
        response = webhook.post(Client(), delivery.body)
        return response.status_code, response.content.decode()

    monkeypatch.setattr("payments.offline.simulator.delivery_post", deliver)
    _, status = checkout_session_pay_offline(session_id=checkout.checkout_session_id, secret=webhook.secret,
                                             webhook_url="unused")
    return status


def test_scan_page_offers_at_most_what_one_buyer_may_take(client, held_product):
    response = client.get(reverse("payments:scan", args=[held_product.scan_code]))
    assert response.status_code == 200
    assert [c[0] for c in response.context["form"].fields["quantity"].choices] == [1, 2]
    assert b"Hold and pay with Stripe" in response.content


def test_scan_holds_then_redirects_to_a_session_for_exactly_those_units(client, held_product):
    response = _scan(client, held_product, 2)
    checkout = Checkout.objects.get()
    assert response.status_code == 303 and response["Location"] == checkout.session_url
    assert checkout.status == Checkout.Status.RESERVED and checkout.checkout_session_id
    assert _available(held_product) == 1
    (create,) = _session_creates()
    params = create.params
    assert create.idempotency_key == f"session:checkout:{checkout.pk}"
    assert params["mode"] == "payment"
    assert params["line_items"] == [{"price": held_product.stripe_price_id, "quantity": 2}]
    assert params["payment_intent_data"]["capture_method"] == "manual"
    assert params["metadata"]["checkout"] == str(checkout.pk)
    assert params["expires_at"] >= (timezone.now() + timedelta(minutes=30)).timestamp()
    assert params["cancel_url"].endswith(held_checkout_leave_url(checkout.pk))
    # Our hold lapses first; the units stay reserved past Stripe's own deadline for the session.
    (hold,) = Reservation.objects.filter(hold_ref=str(checkout.pk))
    assert checkout.expires_at < checkout.session_expires_at < hold.expires_at


def test_paying_turns_exactly_the_held_units_into_a_sale_and_captures(client, held_product, webhook, monkeypatch):
    _scan(client, held_product, 2)
    checkout = Checkout.objects.get()
    assert _pay(webhook, checkout, monkeypatch) == 200
    checkout.refresh_from_db()
    assert checkout.status == Checkout.Status.PAID
    assert checkout.payment_intent_id
    held_product.refresh_from_db()
    assert held_product.inventory == 1
    assert StockMovement.objects.filter(product=held_product, source=f"checkout:{checkout.pk}").get().delta == -2
    assert Reservation.objects.get(hold_ref=str(checkout.pk)).state == Reservation.State.SOLD
    assert list(StripeJob.objects.values_list("action", "state")) == [("capture", "done")]
    assert get_gateway().payment_intent_retrieve(checkout.payment_intent_id)["status"] == "succeeded"


def test_a_redelivered_completed_event_sells_once(client, held_product, webhook, monkeypatch):
    _scan(client, held_product, 1)
    checkout = Checkout.objects.get()
    _pay(webhook, checkout, monkeypatch)
    session = get_gateway().checkout_session_retrieve(checkout.checkout_session_id)
    again = signed_event(event_type="checkout.session.completed", obj=session, secret=webhook.secret)
    assert webhook.post(client, again.body).status_code == 200
    held_product.refresh_from_db()
    assert held_product.inventory == 2
    assert StockMovement.objects.filter(product=held_product, delta__lt=0).count() == 1


def test_sold_out_or_all_held_creates_no_session_and_offers_other_booths(client, held_product, make_store,
                                                                       make_product):
    other_store = make_store()
    make_product(store=other_store, stripe_product_id=held_product.stripe_product_id, inventory=4)
    assert _scan(client, held_product, 2, REMOTE_ADDR="10.0.0.1").status_code == 303
    assert _scan(client, held_product, 1, REMOTE_ADDR="10.0.0.2").status_code == 303
    response = _scan(client, held_product, 1, REMOTE_ADDR="10.0.0.3")
    assert response.status_code == 409
    assert b"Nothing was held" in response.content
    assert [p.store_id for p in response.context["alternatives"]] == [other_store.pk]
    assert response.context["waitlist_form"] is not None
    assert len(_session_creates()) == 2 and Checkout.objects.count() == 2


@pytest.mark.parametrize("quantity", ["0", "3", "-1", "two", ""])
def test_a_quantity_out_of_range_is_refused_and_holds_nothing(client, held_product, quantity):
    response = _scan(client, held_product, quantity)
    assert response.status_code == 400
    assert b"Choose between 1 and 2" in response.content or b"required" in response.content
    assert not Checkout.objects.exists() and not _session_creates()


def test_unknown_and_retired_codes_say_so(client, held_product):
    assert client.get(reverse("payments:scan", args=["nosuchcode"])).status_code == 404
    old = held_product.scan_code
    product_scan_code_renew(product=held_product)
    response = client.post(reverse("payments:scan", args=[old]), {"quantity": 1})
    assert response.status_code == 410 and b"replaced" in response.content
    assert client.get(reverse("payments:scan", args=[held_product.scan_code])).status_code == 200
    assert not Checkout.objects.exists()


def test_a_product_switched_off_by_staff_holds_nothing(client, held_product):
    product_link_pause(product=held_product, paused=True)
    response = _scan(client, held_product, 1)
    assert response.status_code == 409 and b"not on sale" in response.content
    assert not Checkout.objects.exists() and not _session_creates()


def test_a_lapsed_hold_expires_the_session_first_then_releases(client, held_product):
    _scan(client, held_product, 2)
    checkout = Checkout.objects.get()
    checkouts_sweep()  # not lapsed yet: nothing happens
    assert not StripeJob.objects.exists()
    Checkout.objects.filter(pk=checkout.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert _available(held_product) == 1  # lapsed, but the session could still complete: still held
    checkouts_sweep()
    checkout.refresh_from_db()
    assert checkout.status == Checkout.Status.EXPIRED
    assert get_gateway().checkout_session_retrieve(checkout.checkout_session_id)["status"] == "expired"
    assert _available(held_product) == 3


def test_a_lapsed_hold_whose_buyer_paid_meanwhile_becomes_the_sale(client, held_product, webhook, monkeypatch):
    _scan(client, held_product, 2)
    checkout = Checkout.objects.get()
    # The buyer pays, but Stripe's event is lost on the way (it would come again later).
    monkeypatch.setattr("payments.offline.simulator.delivery_post", lambda delivery, **kw: (500, "lost"))
    checkout_session_pay_offline(session_id=checkout.checkout_session_id, secret=webhook.secret, webhook_url="x")
    Checkout.objects.filter(pk=checkout.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    checkouts_sweep()
    checkout.refresh_from_db()
    assert checkout.status == Checkout.Status.PAID
    held_product.refresh_from_db()
    assert held_product.inventory == 1
    assert not StripeJob.objects.filter(action=StripeJob.Action.GIVE_BACK).exists()


def test_stripe_expiring_the_session_releases_the_hold(client, held_product, webhook):
    _scan(client, held_product, 2)
    checkout = Checkout.objects.get()
    session = get_gateway().checkout_session_expire(checkout.checkout_session_id, idempotency_key="test")
    event = signed_event(event_type="checkout.session.expired", obj={k: v for k, v in session.items()
                                                                      if k != "offline"}, secret=webhook.secret)
    assert webhook.post(client, event.body).status_code == 200
    checkout.refresh_from_db()
    assert checkout.status == Checkout.Status.EXPIRED
    assert _available(held_product) == 3


def test_leaving_stripes_page_expires_the_session_and_releases_at_once(client, held_product):
    _scan(client, held_product, 2)
    checkout = Checkout.objects.get()
    response = client.get(held_checkout_leave_url(checkout.pk))
    assert response.status_code == 302
    checkout.refresh_from_db()
    assert checkout.status == Checkout.Status.LEFT  # the buyer left: not a hold that ran out
    assert "left the payment page" in checkout.resolution
    page = client.get(response["Location"]).content.decode()
    assert "You left the payment page: nothing was charged" in page and "Hold ran out" not in page
    assert get_gateway().checkout_session_retrieve(checkout.checkout_session_id)["status"] == "expired"
    assert _available(held_product) == 3


def test_the_simulated_hosted_page_is_labelled_and_pays(client, held_product, webhook, monkeypatch):
    response = _scan(client, held_product, 1)
    page = client.get(response["Location"])
    assert page.status_code == 200 and b"Simulated Stripe Checkout" in page.content

    def deliver(delivery, *, url, timeout=30.0):
        answer = webhook.post(Client(), delivery.body)
        return answer.status_code, ""

    monkeypatch.setattr("payments.offline.simulator.delivery_post", deliver)
    paid = client.post(response["Location"], {"action": "pay"})
    checkout = Checkout.objects.get()
    assert paid.status_code == 302 and paid["Location"].endswith(f"/checkout/{checkout.pk}/?from=stripe")
    checkout.refresh_from_db()
    assert checkout.status == Checkout.Status.PAID
    assert client.post(response["Location"], {"action": "pay"}).status_code == 409  # complete: no second payment


def test_payment_link_mode_scan_goes_on_to_the_link(client, stripe_offline, make_product):
    product = make_product(inventory=1)
    response = client.get(reverse("payments:scan", args=[product.scan_code]))
    assert response.status_code == 302 and response["Location"] == product.payment_link_url
    assert product.qr_url == product.payment_link_url


def test_the_qr_code_of_a_held_product_is_our_own_scan_url(held_product):
    product = Product.objects.select_related("store").get(pk=held_product.pk)
    assert product.qr_url.endswith(f"/q/{product.scan_code}/")


@pytest.mark.usefixtures("eager_tasks_in_threads")
def test_forty_buyers_scan_for_three_units_none_pays_for_stock_that_is_gone(held_product, webhook, monkeypatch):
    Product.objects.filter(pk=held_product.pk).update(max_per_checkout=1)

    def buyer(n):
        try:
            return _scan(Client(), held_product, 1, REMOTE_ADDR=f"10.1.{n // 250}.{n % 250}")
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=20) as pool:
        responses = list(pool.map(buyer, range(40)))
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [303] * 3 + [409] * 37  # 3 units in stock (the fixture's)
    for checkout in Checkout.objects.all():
        assert _pay(webhook, checkout, monkeypatch) == 200
    held_product.refresh_from_db()
    assert held_product.inventory == 0
    assert Checkout.objects.filter(status=Checkout.Status.PAID).count() == 3
    assert not StripeJob.objects.filter(action=StripeJob.Action.GIVE_BACK).exists()
    assert len(_session_creates()) == 3


def test_reconcile_accounts_for_held_sessions(client, held_product, webhook, monkeypatch):
    _scan(client, held_product, 1)
    _pay(webhook, Checkout.objects.get(), monkeypatch)
    call_command("reconcile_stock")  # raises CommandError on drift or unfinished purchase work


def test_one_hold_length_for_both_ways_to_pay(client, held_product, settings, make_product):
    # given: one setting for every buyer's hold
    settings.CHECKOUT_HOLD_MINUTES = 7
    assert not hasattr(settings, "HELD_CHECKOUT_HOLD_MINUTES")
    from common.buyers import Buyer
    from payments.checkout.services import CheckoutRequestLine, checkout_start

    # when: a QR buyer holds (held checkout), and a buyer starts our own checkout
    before = timezone.now()
    _scan(client, held_product, 1)
    held = Checkout.objects.get()
    page_product = make_product(inventory=3, link=False)
    own = checkout_start(lines=[CheckoutRequestLine(page_product.pk, 1)], buyer=Buyer(ref="b-own", address="203.0.113.9"))

    # then: both holds lapse after those 7 minutes
    for checkout in (held, own):
        lapse = (checkout.expires_at - before).total_seconds() / 60
        assert 7 <= lapse < 7.5, (checkout, lapse)
    # and the page offering our own checkout says so, from the same setting
    linked = make_product(inventory=3)
    assert "We hold your items for 7 minutes" in client.get(linked.page_url).content.decode()


def test_reserved_counts_to_the_buyers_hold_not_to_stripes_deadline(client, held_product, settings):
    # given: a QR buyer holds the last units; their units stay held past Stripe's deadline (~36 min)
    from inventory.reserved import snapshot_with_lapse
    from inventory.selectors import stock_snapshot

    settings.CHECKOUT_HOLD_MINUTES = 10
    _scan(client, held_product, 2)
    _scan(Client(), held_product, 1)
    assert _available(held_product) == 0
    first = Checkout.objects.order_by("created_at").first()

    # when: someone else opens the product's page
    text = Client().get(held_product.page_url).content.decode()

    # then: back when the buyer's own hold lapses (10 min), which is when its session is expired
    assert "Reserved — back in 10 min" in text
    message = snapshot_with_lapse(stock_snapshot(product_id=held_product.pk))
    assert message["back_at"] == pytest.approx(first.expires_at.timestamp(), abs=0.01)
