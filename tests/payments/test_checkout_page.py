"""The checkout page: what it shows, the offline test card end to end, and the live status feed.

The offline confirm view posts Stripe's signed event to the store's own webhook URL over HTTP, so
those tests run against `live_server` with real commits (transaction=True), as do the live feed's;
tasks run in-process.
"""

import re
import uuid

import pytest
import requests
from asgiref.sync import async_to_sync, sync_to_async
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator
from django.test import Client
from djstripe.models import Event

from common.buyers import Buyer
from common.times import local_time
from inventory.models import Product, Reservation, StockMovement, WaitlistEntry
from inventory.services import stock_decrease
from payments.checkout.services import CheckoutRequestLine, checkout_release, checkout_start
from payments.models import Checkout, StripeCall
from payments.checkout import consumers
from payments.checkout.routing import websocket_urlpatterns

pytestmark = pytest.mark.django_db
# Real commits: for the live server (another thread) and for broadcasts fired on commit.
committed = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def offline(settings):
    settings.STRIPE_SECRET_KEY = ""
    settings.STRIPE_PUBLISHABLE_KEY = ""


@pytest.fixture
def tote(make_store, make_product):
    # No Payment Link: this product is sold only through our checkout.
    return make_product(store=make_store(name="Hall A"), name="Tote bag", inventory=3,
                        unit_amount=2500, link=False)


def start(product: Product, quantity: int = 1) -> Checkout:
    # Each call is another buyer on an address of its own, as in a crowd at the booth.
    who = f"buyer-{uuid.uuid4().hex[:12]}"
    return checkout_start(lines=[CheckoutRequestLine(product.pk, quantity)], email="buyer@example.com",
                          buyer=Buyer(ref=who, address=who))


# --- What the page shows ------------------------------------------------------------------------------

def test_page_shows_lines_total_hold_expiry_status_and_the_offline_card_form(client, tote):
    checkout = start(tote, 2)
    response = client.get(f"/checkout/{checkout.pk}/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "Tote bag" in html and ">2<" in html and "$25.00" in html
    assert 'data-total>$50.00<' in html
    assert f'<time datetime="{checkout.expires_at.isoformat()}"' in html
    # in the booth's time zone, the way the locale writes a time (10:16 AM)
    assert local_time(checkout.expires_at, checkout.store.time_zone) in html
    assert "Units held, awaiting payment" in html and 'aria-live="polite"' in html
    assert f'data-checkout-feed="/ws/checkout/{checkout.pk}/"' in html
    assert "Offline test card" in html
    assert '<option value="pm_card_visa">4242 4242 4242 4242 — succeeds</option>' in html
    assert '<option value="pm_card_chargeDeclined">4000 0000 0000 0002 — declined</option>' in html
    assert f'action="/checkout/{checkout.pk}/offline-confirm/"' in html
    assert "csrfmiddlewaretoken" in html
    assert "js.stripe.com" not in html


def test_page_with_stripe_live_mounts_elements_and_offers_no_test_cards(client, tote, settings):
    checkout = start(tote)  # offline: the PaymentIntent is in the offline notebook
    settings.STRIPE_SECRET_KEY = "sk_test_not_used_for_rendering"
    settings.STRIPE_PUBLISHABLE_KEY = "pk_test_123"
    html = client.get(f"/checkout/{checkout.pk}/").content.decode()
    assert '<script src="https://js.stripe.com/v3/"></script>' in html
    assert 'data-publishable-key="pk_test_123"' in html
    assert f'data-client-secret="{checkout.client_secret}"' in html
    assert "Offline test card" not in html
    settings.STRIPE_PUBLISHABLE_KEY = ""
    assert "Card payment is not set up" in client.get(f"/checkout/{checkout.pk}/").content.decode()


def test_page_404_for_an_unknown_checkout(client):
    assert client.get(f"/checkout/{uuid.uuid4()}/").status_code == 404


# --- The offline test card, end to end through the signed webhook --------------------------------------

@pytest.fixture
def live_server(live_server, settings):
    # The offline confirm posts to SITE_URL (never to the Host a visitor sent): here, this server.
    settings.SITE_URL = live_server.url
    return live_server


def pay_offline(live_server, checkout: Checkout, card: str) -> requests.Response:
    """What a buyer's browser does: open the page, submit the test-card form (with its CSRF token)."""
    browser = requests.Session()
    page = browser.get(f"{live_server.url}/checkout/{checkout.pk}/", timeout=30)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
    return browser.post(f"{live_server.url}/checkout/{checkout.pk}/offline-confirm/",
                        data={"csrfmiddlewaretoken": token, "card": card}, timeout=60)


@committed
def test_good_test_card_is_authorised_sold_and_captured(live_server, webhook, tote):
    # given: a checkout started through the API, holding 2 of 3
    created = requests.post(f"{live_server.url}/api/checkouts", timeout=30, json={
        "store": tote.store_id, "lines": [{"product": tote.stripe_product_id, "quantity": 2}]}).json()
    checkout = Checkout.objects.get(pk=created["checkout"])
    # when
    response = pay_offline(live_server, checkout, "pm_card_visa")
    # then: back on the page, which shows the outcome
    assert response.status_code == 200 and response.url == created["checkout_url"]
    assert "Paid. Thank you!" in response.text
    checkout.refresh_from_db()
    assert checkout.status == Checkout.Status.PAID
    tote = Product.objects.with_availability().get(pk=tote.pk)
    assert (tote.inventory, tote.available) == (1, 1)
    movement = StockMovement.objects.get(source=f"checkout:{checkout.pk}")
    assert (movement.product_id, movement.delta, movement.balance_after, movement.reason) == (tote.pk, -2, 1, "sale")
    assert Reservation.objects.get(hold_ref=str(checkout.pk)).state == "sold"
    event = Event.objects.get(type="payment_intent.amount_capturable_updated")
    assert event.data["object"]["id"] == checkout.payment_intent_id
    assert event.data["object"]["metadata"]["checkout"] == str(checkout.pk)
    calls = list(StripeCall.objects.filter(target=checkout.payment_intent_id).values_list("operation", "mode"))
    assert ("payment_intent.confirm", "offline") in calls and ("payment_intent.capture", "offline") in calls


@committed
def test_declined_test_card_fails_the_checkout_and_releases_the_units(live_server, webhook, tote):
    checkout = start(tote, 3)
    assert Product.objects.with_availability().get(pk=tote.pk).available == 0
    response = pay_offline(live_server, checkout, "pm_card_chargeDeclined")
    assert response.status_code == 200
    assert "Payment failed" in response.text
    checkout.refresh_from_db()
    assert checkout.status == Checkout.Status.FAILED
    assert "declined" in checkout.resolution
    tote = Product.objects.with_availability().get(pk=tote.pk)
    assert (tote.inventory, tote.available) == (3, 3)
    assert not StockMovement.objects.filter(source=f"checkout:{checkout.pk}").exists()
    assert Reservation.objects.get(hold_ref=str(checkout.pk)).state == "released"
    assert Event.objects.filter(type="payment_intent.payment_failed").count() == 1


@pytest.mark.parametrize("status", [Checkout.Status.FAILED, Checkout.Status.EXPIRED, Checkout.Status.PAID])
def test_confirm_409_when_the_checkout_is_no_longer_reserved(client, webhook, tote, status):
    checkout = start(tote)
    Checkout.objects.filter(pk=checkout.pk).update(status=status)
    response = client.post(f"/checkout/{checkout.pk}/offline-confirm/", {"card": "pm_card_visa"})
    assert response.status_code == 409
    assert "can no longer be paid" in response.content.decode()
    assert not StripeCall.objects.filter(operation="payment_intent.confirm").exists()


@pytest.mark.parametrize("card", ["pm_card_amex", "", "4242424242424242"])
def test_confirm_400_for_a_card_that_is_not_offered(client, webhook, tote, card):
    checkout = start(tote)
    response = client.post(f"/checkout/{checkout.pk}/offline-confirm/", {"card": card})
    assert response.status_code == 400
    assert "Choose one of the offline test cards." in response.content.decode()
    assert Checkout.objects.get(pk=checkout.pk).status == Checkout.Status.RESERVED


def test_confirm_needs_the_csrf_token(webhook, tote):
    checkout = start(tote)
    response = Client(enforce_csrf_checks=True).post(f"/checkout/{checkout.pk}/offline-confirm/",
                                                     {"card": "pm_card_visa"})
    assert response.status_code == 403


def test_confirm_404_unless_stripe_is_offline(client, webhook, tote, settings):
    checkout = start(tote)
    settings.STRIPE_SECRET_KEY = "sk_test_live_gateway"
    assert client.post(f"/checkout/{checkout.pk}/offline-confirm/", {"card": "pm_card_visa"}).status_code == 404
    assert client.get(f"/checkout/{checkout.pk}/offline-confirm/").status_code == 405


# --- Starting a checkout from a form, and the waitlist when it cannot start ------------------------------

def test_start_form_holds_the_units_and_goes_to_the_checkout(client, tote):
    response = client.post("/checkout/start/", {"store": tote.store_id, "product": tote.stripe_product_id,
                                                "quantity": "2", "email": ""})
    checkout = Checkout.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/checkout/{checkout.pk}/"
    assert Product.objects.with_availability().get(pk=tote.pk).available == 1


def test_start_form_409_says_what_is_left_and_offers_other_stores(client, tote, make_store, make_product):
    other = make_product(store=make_store(name="Hall B"), name="Tote bag", inventory=4, link=False,
                         stripe_product_id=tote.stripe_product_id)
    response = client.post("/checkout/start/", {"store": tote.store_id, "product": tote.stripe_product_id,
                                                "quantity": "5", "email": "fan@example.com"})
    assert response.status_code == 409
    html = response.content.decode()
    assert "Only 3 left of Tote bag in Hall A (you asked for 5). Nothing was reserved." in html
    assert f'href="/s/{other.store_id}/p/{other.stripe_product_id}/">Hall B</a>: 4 available' in html
    assert 'action="/checkout/waitlist/"' not in html  # 3 left: the waitlist is for sold-out products only
    assert not Checkout.objects.exists() and not Reservation.objects.exists()


def test_start_form_409_on_a_sold_out_product_offers_the_waitlist(client, tote):
    stock_decrease(product=tote, quantity=3, source="test-sold-out")
    response = client.post("/checkout/start/", {"store": tote.store_id, "product": tote.stripe_product_id,
                                                "quantity": "1", "email": "fan@example.com"})
    assert response.status_code == 409
    html = response.content.decode()
    assert 'action="/checkout/waitlist/"' in html and 'value="fan@example.com"' in html
    # and joining the waitlist from there
    joined = client.post("/checkout/waitlist/", {"store": tote.store_id, "product": tote.stripe_product_id,
                                                 "email": "fan@example.com"})
    assert joined.status_code == 200 and "We will e-mail fan@example.com" in joined.content.decode()
    assert WaitlistEntry.objects.get().product_id == tote.pk


@pytest.mark.parametrize("form", [
    {"quantity": "0"}, {"quantity": "1.5"}, {"quantity": "1001"}, {"store": "Hall A"}, {"email": "nope"},
    {"product": "prod\x00"},
])
def test_start_form_400_for_bad_fields(client, tote, form):
    valid = {"store": tote.store_id, "product": tote.stripe_product_id, "quantity": "1"}
    assert client.post("/checkout/start/", {**valid, **form}).status_code == 400
    assert not Checkout.objects.exists()


def test_start_form_404_for_an_unknown_product(client, tote):
    response = client.post("/checkout/start/", {"store": tote.store_id, "product": "prod_Nope", "quantity": "1"})
    assert response.status_code == 404


def test_waitlist_form_400_for_a_bad_address(client, tote):
    response = client.post("/checkout/waitlist/", {"store": tote.store_id, "product": tote.stripe_product_id,
                                                   "email": "not-an-address"})
    assert response.status_code == 400
    assert not WaitlistEntry.objects.exists()


def test_waitlist_form_names_every_problem_at_once(client, tote):
    # a bad address and a product id that cannot be one (a page from before a change, or tampered with)
    response = client.post("/checkout/waitlist/", {"store": tote.store_id, "product": "prod bad!",
                                                   "email": "not-an-address"})
    page = response.content.decode()
    assert response.status_code == 400
    assert "Enter a valid email address" in page and "This page is out of date (product:" in page
    assert not WaitlistEntry.objects.exists()


# --- The live status feed ----------------------------------------------------------------------------------

# The consumer through its own routing; swagstore/asgi.py mounts the same patterns.
feed_app = URLRouter(websocket_urlpatterns)


@committed
def test_feed_sends_the_status_on_connect_then_each_change(tote):
    checkout = start(tote)

    async def scenario():
        feed = WebsocketCommunicator(feed_app, f"/ws/checkout/{checkout.pk}/")
        connected, _ = await feed.connect()
        assert connected
        first = await feed.receive_json_from(timeout=5)
        assert (first["type"], first["checkout"], first["status"]) == ("checkout.updated", str(checkout.pk),
                                                                       "reserved")
        await sync_to_async(checkout_release, thread_sensitive=False)(
            checkout_id=checkout.pk, status=Checkout.Status.CANCELLED, note="Stock went before payment.")
        update = await feed.receive_json_from(timeout=5)
        await feed.disconnect()
        return update

    update = async_to_sync(scenario)()
    assert (update["status"], update["status_text"]) == ("cancelled",
                                                         "Cancelled: authorisation released, nothing charged")
    assert "Stock went before payment." in update["resolution"]


@pytest.mark.parametrize("checkout_id", [str(uuid.uuid4()), "0" * 32, "-" * 32])
def test_feed_accepts_then_closes_with_4404_for_an_unknown_checkout(checkout_id):
    # Accepted first: a refused handshake looks like a network failure, and the page would retry for ever.
    async def scenario():
        feed = WebsocketCommunicator(feed_app, f"/ws/checkout/{checkout_id}/")
        connected, _ = await feed.connect()
        closed = await feed.receive_output(timeout=5)
        return connected, closed

    assert async_to_sync(scenario)() == (True, {"type": "websocket.close", "code": 4404})


@committed
def test_feed_hears_a_change_committed_while_it_reads_the_checkout(tote, monkeypatch):
    """The feed joins its group before reading: a change committed right after the read still arrives."""
    checkout = start(tote)
    read = consumers.checkout_snapshot

    def read_then_cancel(checkout_id):
        snapshot = read(checkout_id)
        # given: the checkout changes (and is broadcast) just after the feed read it
        checkout_release(checkout_id=checkout.pk, status=Checkout.Status.CANCELLED, note="Hold lost.")
        return snapshot

    monkeypatch.setattr(consumers, "checkout_snapshot", read_then_cancel)

    async def scenario():
        feed = WebsocketCommunicator(feed_app, f"/ws/checkout/{checkout.pk}/")
        connected, _ = await feed.connect()
        assert connected
        try:
            return [await feed.receive_json_from(timeout=5) for _ in range(2)]
        finally:
            await feed.disconnect()

    first, second = async_to_sync(scenario)()
    assert (first["status"], second["status"]) == ("reserved", "cancelled")
