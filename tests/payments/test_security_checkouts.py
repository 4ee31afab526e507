"""Issue 9, findings 1–3: one visitor cannot take a booth off sale, dodge the per-client cap, or
make another site's visitors hold our stock."""

import json

import pytest
from django.db import connection
from django.test import Client

from inventory.models import Product, Reservation
from payments.models import Checkout
from tests.payments.helpers import buyer_client, run_in_threads

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("stripe_offline")]


@pytest.fixture
def booth(make_store, make_product):
    store = make_store(name="Hall A")
    return store, [make_product(store=store, name=f"Item {n}", inventory=8, stripe_product_id=f"prod_I{n}")
                   for n in range(4)]


def start(client, store, lines, **headers):
    body = {"store": store.id, "lines": [{"product": p.stripe_product_id, "quantity": q} for p, q in lines]}
    response = client.post("/api/checkouts", data=json.dumps(body), content_type="application/json", **headers)
    return response.status_code, response.json()


def nothing_held() -> bool:
    return not Checkout.objects.exists() and not Reservation.objects.exists()


# --- 1. A bound on units per client ---------------------------------------------------------------------

def test_one_request_for_a_whole_booth_is_refused_and_holds_nothing(client, booth):
    store, products = booth
    status, body = start(client, store, [(p, p.inventory) for p in products])
    assert status == 429 and "at most 5 of each product" in body["detail"]
    assert nothing_held()
    assert all(p.available == 8 and not p.sold_out for p in Product.objects.with_availability())


def test_units_are_capped_across_a_clients_open_checkouts(client, booth, settings):
    store, (a, b, c, _) = booth
    assert start(client, store, [(a, 5), (b, 3)])[0] == 201
    status, body = start(client, store, [(c, 3)])  # 8 held + 3 > 10
    assert status == 429 and "at most 10 units" in body["detail"]
    status, body = start(client, store, [(a, 1)])  # a: 5 held + 1 > 5
    assert status == 429 and "Item 0" in body["detail"]
    assert Checkout.objects.count() == 1
    assert start(client, store, [(c, 2)])[0] == 201  # up to the cap is fine


def test_another_buyer_is_not_affected_by_the_first_ones_holds(client, booth):
    store, (a, *_) = booth
    assert start(client, store, [(a, 5)])[0] == 201
    assert start(Client(), store, [(a, 3)])[0] == 201  # another browser, even on the same address
    assert Product.objects.with_availability().get(pk=a.pk).available == 0  # two buyers may take it all, one may not


def test_a_buyer_on_another_address_is_still_the_same_buyer(client, booth):
    store, (a, *_) = booth
    assert start(client, store, [(a, 5)])[0] == 201
    assert start(client, store, [(a, 1)], REMOTE_ADDR="203.0.113.7")[0] == 429  # the cookie is the buyer


# --- 2. The address is the one our proxy saw, empty or not, and the caps hold under a race ---------------

@pytest.fixture
def behind_router(settings):
    settings.TRUSTED_PROXY_COUNT = 1
    settings.CHECKOUT_MAX_OPEN_PER_BUYER = 3


def test_a_forged_forwarded_for_entry_is_not_a_new_address(booth, behind_router, settings):
    settings.CHECKOUT_STARTS_PER_ADDRESS, settings.CHECKOUT_STARTS_PER_ADDRESS_CEILING = 3, 3
    store, (a, *_) = booth
    # Daphne's --proxy-headers puts the leftmost (client-written) entry in REMOTE_ADDR; the router
    # appended the real one at the right. A fresh cookie jar each time: only the address counts.
    statuses = [start(Client(), store, [(a, 1)], REMOTE_ADDR=f"198.51.100.{n}",
                      HTTP_X_FORWARDED_FOR=f"198.51.100.{n}, 203.0.113.9")[0] for n in range(5)]
    assert statuses == [201, 201, 201, 429, 429]
    assert set(Checkout.objects.values_list("client_ref", flat=True)) == {"203.0.113.9"}


def test_an_empty_address_is_an_address_too(booth, behind_router, settings):
    settings.CHECKOUT_STARTS_PER_ADDRESS, settings.CHECKOUT_STARTS_PER_ADDRESS_CEILING = 3, 3
    store, (a, *_) = booth
    statuses = [start(Client(), store, [(a, 1)], REMOTE_ADDR="", HTTP_X_FORWARDED_FOR=", ")[0] for _ in range(4)]
    assert statuses == [201, 201, 201, 429]


@pytest.mark.django_db(transaction=True)
def test_simultaneous_requests_from_one_buyer_respect_the_cap(booth, behind_router):
    store, (a, *_) = booth

    def attempt(n):
        try:  # one browser (one cookie) sending from several tabs at once
            return start(buyer_client("one-browser"), store, [(a, 1)],
                         HTTP_X_FORWARDED_FOR=f"10.0.0.{n}, 203.0.113.9")[0]
        finally:
            connection.close()

    statuses = run_in_threads(attempt, [(n,) for n in range(10)])
    assert sorted(statuses) == [201] * 3 + [429] * 7
    assert Checkout.objects.filter(buyer_ref="one-browser").count() == 3


@pytest.mark.django_db(transaction=True)
def test_simultaneous_requests_from_one_address_respect_its_rate(booth, behind_router, settings):
    settings.CHECKOUT_STARTS_PER_ADDRESS, settings.CHECKOUT_STARTS_PER_ADDRESS_CEILING = 4, 4
    store, (a, b, *_) = booth

    def attempt(n):
        try:  # a script: a new cookie jar for every request
            return start(Client(), store, [(a if n % 2 else b, 1)], HTTP_X_FORWARDED_FOR=f"10.0.0.{n}, 203.0.113.9")[0]
        finally:
            connection.close()

    statuses = run_in_threads(attempt, [(n,) for n in range(12)])
    assert sorted(statuses) == [201] * 4 + [429] * 8
    assert Checkout.objects.filter(client_ref="203.0.113.9").count() == 4


# --- 3. JSON only, and never for another site's page -----------------------------------------------------

@pytest.mark.parametrize("url", ["/api/checkouts", "/api/waitlist", "/api/stock-check"])
def test_a_body_that_is_not_declared_json_is_refused_with_415(client, booth, url):
    store, (a, *_) = booth
    body = json.dumps({"store": store.id, "lines": [{"product": a.stripe_product_id, "quantity": 1}]})
    response = client.post(url, data=body, content_type="text/plain")
    assert response.status_code == 415 and "application/json" in response.json()["detail"]
    assert nothing_held()


@pytest.mark.parametrize("headers", [{"HTTP_ORIGIN": "https://evil.example"},
                                     {"HTTP_SEC_FETCH_SITE": "cross-site"}])
def test_a_request_from_another_site_is_refused_with_403(client, booth, headers):
    store, (a, *_) = booth
    status, body = start(client, store, [(a, 1)], **headers)
    assert status == 403 and "Cross-site" in body["detail"]
    assert nothing_held()


def test_our_own_pages_and_scripts_without_an_origin_are_served(client, booth):
    store, (a, *_) = booth
    assert start(client, store, [(a, 1)], HTTP_ORIGIN="http://testserver", HTTP_SEC_FETCH_SITE="same-origin")[0] == 201
    assert start(client, store, [(a, 1)])[0] == 201  # curl, a server: no Origin at all
