"""Issue 9, finding 4: the waitlist cannot be used to mail strangers or to learn who is on it."""

import json

import pytest
from django.core import mail
from django.test import Client

from inventory.models import WaitlistEntry
from inventory.services import stock_decrease, stock_increase

pytestmark = pytest.mark.django_db


@pytest.fixture
def sold_out(make_store, make_product):
    product = make_product(store=make_store(name="Hall A"), name="Hoodie", inventory=2, link=False)
    stock_decrease(product=product, quantity=2, source="test-sold-out")
    return product


def join(client, product, email: str, **headers):
    body = {"store": product.store_id, "product": product.stripe_product_id, "email": email}
    response = client.post("/api/waitlist", data=json.dumps(body), content_type="application/json", **headers)
    return response.status_code, response.json()


def test_a_product_in_stock_takes_no_names(client, make_product):
    product = make_product(name="Mug", inventory=3, link=False)
    status, body = join(client, product, "someone@example.com")
    assert status == 409 and "in stock" in body["detail"]
    assert not WaitlistEntry.objects.exists()


def test_a_known_address_gets_the_same_answer_as_a_new_one(client, sold_out):
    assert join(client, sold_out, "ada@example.com") == join(client, sold_out, "ada@example.com")
    status, new = join(client, sold_out, "bob@example.com")
    status_known, known = join(client, sold_out, "ada@example.com")
    assert status == status_known == 202
    assert new.keys() == known.keys() and new["detail"].replace("bob", "ada") == known["detail"]


def test_one_buyer_adds_only_a_few_addresses_an_hour(client, sold_out, settings, django_capture_on_commit_callbacks):
    settings.WAITLIST_MAX_JOINS_PER_HOUR = 5
    statuses = [join(client, sold_out, f"stranger{n}@example.com")[0] for n in range(8)]
    assert statuses == [202] * 5 + [429] * 3
    assert WaitlistEntry.objects.count() == 5
    assert join(Client(), sold_out, "mine@example.com")[0] == 202  # another visitor, on the same address
    # and the restock mails only the addresses that were kept
    with django_capture_on_commit_callbacks(execute=True):
        stock_increase(product=sold_out, quantity=1, source="restock")
    assert len(mail.outbox) == 6


def test_one_address_adds_as_many_as_a_venue_needs_but_not_more(sold_out, settings):
    settings.WAITLIST_MAX_JOINS_PER_ADDRESS_PER_HOUR = 12
    # A script with a fresh cookie jar each time, behind one address (an IPv6 /64 is one).
    statuses = [join(Client(), sold_out, f"stranger{n}@example.com", REMOTE_ADDR=f"2001:db8:5:6::{n:x}")[0]
                for n in range(1, 15)]
    assert statuses == [202] * 12 + [429] * 2


def test_the_waitlist_form_refuses_a_product_in_stock(client, make_product):
    product = make_product(name="Mug", inventory=3, link=False)
    response = client.post("/checkout/waitlist/", {"store": product.store_id, "product": product.stripe_product_id,
                                                   "email": "someone@example.com"})
    assert response.status_code == 409 and "in stock" in response.content.decode()
    assert not WaitlistEntry.objects.exists()
