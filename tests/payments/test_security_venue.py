"""Issue 19: limits that stop an abuser, not a venue.

A conference's phones reach the store from one public address (the venue's NAT). A buyer is a
browser (a signed first-party cookie) with its own caps; an address only has a rate sized for a
venue, and an IPv6 /64 is one address.
"""

import json
from concurrent.futures import ThreadPoolExecutor

import pytest
from altcha import v2
from django.db import connection
from django.test import Client
from django.urls import reverse

from common.buyers import BUYER_COOKIE
from common.clients import address_key
from inventory.models import Product, QrMode
from payments.models import Checkout
from tests.payments.helpers import buyer_client

pytestmark = pytest.mark.django_db(transaction=True)

VENUE = "198.51.100.77"


@pytest.fixture
def held_booth(stripe_offline, make_store):
    store = make_store(name="Hall B")
    store.qr_mode = QrMode.HELD_CHECKOUT
    store.save()
    return store


def scan(client, product, quantity=1, address=VENUE):
    return client.post(reverse("payments:scan", args=[product.scan_code]), {"quantity": quantity},
                       REMOTE_ADDR=address)


def held_units(product) -> int:
    return product.inventory - Product.objects.with_availability().get(pk=product.pk).available


@pytest.mark.usefixtures("eager_tasks_in_threads")
def test_thirty_buyers_behind_one_address_buy_twenty_units_none_refused_for_the_address(held_booth, make_product):
    product = make_product(store=held_booth, inventory=20, max_per_checkout=1)

    def attendee(n):
        phone = Client()
        try:
            page = phone.get(reverse("payments:scan", args=[product.scan_code]), REMOTE_ADDR=VENUE)
            assert BUYER_COOKIE in page.cookies  # the phone's own identity, set before it presses Buy
            return scan(phone, product).status_code
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=30) as pool:
        statuses = sorted(pool.map(attendee, range(30)))
    assert statuses == [303] * 20 + [409] * 10  # 20 pay, 10 are told it sold out, no 429
    assert Checkout.objects.filter(client_ref=VENUE).values("buyer_ref").distinct().count() == 20
    assert held_units(product) == 20


def test_one_buyer_is_still_capped_behind_a_shared_address(held_booth, make_product, settings):
    product = make_product(store=held_booth, inventory=50, max_per_checkout=5)
    phone = buyer_client("phone-1")
    assert scan(phone, product, 5).status_code == 303
    response = scan(phone, product, 1)
    assert response.status_code == 429 and b"at most 5 of each product" in response.content
    assert scan(buyer_client("phone-2"), product, 5).status_code == 303  # the next attendee is not affected


def test_a_script_minting_cookies_holds_a_bounded_share_then_meets_the_challenge(held_booth, make_product, settings):
    product = make_product(store=held_booth, inventory=1000, max_per_checkout=5)
    rate = settings.CHECKOUT_STARTS_PER_ADDRESS
    statuses = [scan(Client(), product, 5).status_code for _ in range(rate + 3)]  # a fresh cookie jar each time
    assert statuses == [303] * rate + [429] * 3
    assert held_units(product) == 5 * rate  # at most the address's rate × one checkout, a minute
    assert Checkout.objects.count() == rate  # the challenged requests held nothing


def test_a_stores_known_venue_address_gets_the_venues_rate(held_booth, make_product, settings):
    settings.CHECKOUT_STARTS_PER_ADDRESS, settings.CHECKOUT_STARTS_PER_VENUE_ADDRESS = 2, 4
    held_booth.venue_addresses = "198.51.100.0/24, 2001:db8:77::/48"
    held_booth.save()
    product = make_product(store=held_booth, inventory=100)
    assert [scan(Client(), product).status_code for _ in range(5)] == [303] * 4 + [429]
    assert [scan(Client(), product, address="203.0.113.5").status_code for _ in range(3)] == [303, 303, 429]


def test_four_addresses_of_one_ipv6_64_are_one_address(held_booth, make_product, settings):
    settings.CHECKOUT_STARTS_PER_ADDRESS = 2
    product = make_product(store=held_booth, inventory=20, max_per_checkout=5)
    addresses = [f"2001:db8:1:2::{n:x}" for n in (1, 0xbeef, 0x1234, 0xffff)]
    statuses = [scan(Client(), product, 5, address=a).status_code for a in addresses]
    assert statuses == [303, 303, 429, 429]
    assert held_units(product) == 10  # not 20 of 20
    assert set(Checkout.objects.values_list("client_ref", flat=True)) == {"2001:db8:1:2::/64"}


@pytest.mark.parametrize("address, key", [
    ("2001:db8:1:2:aaaa:bbbb:cccc:dddd", "2001:db8:1:2::/64"),
    ("2001:DB8:1:2::1", "2001:db8:1:2::/64"),
    ("::ffff:203.0.113.9", "203.0.113.9"),
    ("203.0.113.9", "203.0.113.9"),
    ("", "unknown"),
    ("not an address", "not an address"),
])
def test_every_address_of_a_64_has_one_key(address, key):
    assert address_key(address) == key


def solve(page) -> str:
    """What the widget does in the buyer's browser: find the key, send challenge and solution."""
    challenge = v2.Challenge.from_dict(json.loads(page.context["challenge"]))
    return v2.Payload(challenge, v2.solve_challenge(challenge)).to_base64()


def test_past_the_rate_a_solved_challenge_lets_a_buyer_through_once(held_booth, make_product, settings):
    settings.CHECKOUT_STARTS_PER_ADDRESS, settings.CHECKOUT_STARTS_PER_ADDRESS_CEILING = 1, 3
    settings.CHECKOUT_CHALLENGE_COST = 100  # a test's puzzle: the default is a phone's second
    product = make_product(store=held_booth, inventory=100)
    assert scan(Client(), product).status_code == 303

    asked = scan(Client(), product)
    assert asked.status_code == 429 and b"<altcha-widget" in asked.content and b"vendor/altcha/altcha.min.js" in asked.content
    solution = solve(asked)
    phone = Client()
    post = lambda payload: phone.post(reverse("payments:scan", args=[product.scan_code]),  # noqa: E731
                                      {"quantity": 1, "altcha": payload}, REMOTE_ADDR=VENUE)
    assert post("bm90IGEgc29sdXRpb24=").status_code == 429  # forged
    assert post(solution).status_code == 303
    assert post(solution).status_code == 429  # spent: one solution, one checkout
    assert post(solve(post(""))).status_code == 303  # 3 started: the ceiling now
    refused = post(solve(asked))  # an old page's challenge, solved anew: spent or not, the ceiling holds
    assert refused.status_code == 429 and b"<altcha-widget" not in refused.content  # past the ceiling: no way through
    assert Checkout.objects.count() == 3


def test_the_api_past_an_addresss_rate_says_to_try_later(held_booth, make_product, settings):
    settings.CHECKOUT_STARTS_PER_ADDRESS = 1
    product = make_product(store=held_booth, inventory=10)
    body = {"store": held_booth.pk, "lines": [{"product": product.stripe_product_id, "quantity": 1}]}
    answers = [Client().post("/api/checkouts", data=json.dumps(body), content_type="application/json",
                             REMOTE_ADDR=VENUE) for _ in range(2)]
    assert [a.status_code for a in answers] == [201, 429]
    assert "try again in a minute" in answers[1].json()["detail"]
