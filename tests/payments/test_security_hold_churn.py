"""Issue 19, findings 1 and 3, against the Stripe fake: holding and leaving in a loop costs Stripe at
most two calls per held checkout and is rate-limited per buyer and per address; only the buyer can
leave their checkout."""

from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit

import pytest
from django.db import connection
from django.db.models import Q
from django.test import Client
from django.urls import reverse

from inventory.models import Product, QrMode
from payments.checkout.session_params import held_checkout_leave_url
from payments.fulfilment.held import held_checkout_leave_record
from payments.models import Checkout
from common.work import work_claim
from payments.settlement.runner import settlement_drain
from payments.work.kinds import STRIPE_JOB
from tests.payments.helpers import buyer_client, payment_link_at

pytestmark = pytest.mark.django_db(transaction=True)

EXPIRE = r"/v1/checkout/sessions/[^/]+/expire"
ANY = r"/v1/.*"
LINK_UPDATE = r"/v1/payment_links/[^/]+"
ADDRESS = "198.51.100.9"


@pytest.fixture
def held_with_link(stripe_fake, make_store, make_product):
    """A held-mode product that also has a Payment Link (made before the store switched to held)."""
    store = make_store()
    product = make_product(store=store, inventory=200, max_per_checkout=1, link_at=payment_link_at(stripe_fake))
    stripe_fake.add_price(product.stripe_price_id, product=product.stripe_product_id, unit_amount=product.unit_amount)
    store.qr_mode = QrMode.HELD_CHECKOUT
    store.save()
    settlement_drain(seconds=5)  # whatever the first stock asked of the link is done before we count
    return product


def stripe_calls(fake) -> int:
    return len(fake.calls("POST", ANY)) + len(fake.calls("GET", ANY))


def cancel_url_given_to_stripe(fake, checkout) -> str:
    """What Stripe's "Back" link leads to: the cancel URL the store sent when creating the session."""
    (create,) = [c for c in fake.calls("POST", r"/v1/checkout/sessions")
                 if c["params"].get("metadata", {}).get("checkout") == str(checkout.pk) and not c["replayed"]]
    cancel = urlsplit(create["params"]["cancel_url"])
    return f"{cancel.path}?{cancel.query}"


def hold_then_leave(client, fake) -> tuple[int, int]:
    hold = client.post(reverse("payments:scan", args=[Product.objects.get().scan_code]), {"quantity": 1},
                       REMOTE_ADDR=ADDRESS)
    if hold.status_code != 303:
        return hold.status_code, 0
    checkout = Checkout.objects.get(session_url=hold["Location"])
    return hold.status_code, client.get(cancel_url_given_to_stripe(fake, checkout), REMOTE_ADDR=ADDRESS).status_code


@pytest.mark.usefixtures("eager_tasks_in_threads")
def test_a_hold_and_leave_loop_costs_at_most_two_stripe_calls_per_checkout(held_with_link, stripe_fake):
    before, links_before = stripe_calls(stripe_fake), len(stripe_fake.calls("POST", LINK_UPDATE))

    def looping_script(thread):
        try:  # a fresh cookie jar each time, as the probe's script did
            return [hold_then_leave(Client(), stripe_fake) for _ in range(3)]
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=6) as pool:
        cycles = [r for rs in pool.map(looping_script, range(6)) for r in rs]
    settlement_drain(seconds=5)  # and whatever the worker would still do for them
    assert cycles == [(303, 302)] * 18
    held = Checkout.objects.count()
    assert held == 18 and not Checkout.objects.filter(status=Checkout.Status.RESERVED).exists()
    calls = stripe_calls(stripe_fake) - before
    assert calls <= 2 * held, [(c["method"], c["path"]) for c in stripe_fake.requests[-calls:]]
    assert len(stripe_fake.calls("POST", EXPIRE)) == held  # each session expired once
    assert len(stripe_fake.calls("POST", LINK_UPDATE)) == links_before  # held-only: its link is left alone


def test_one_buyer_looping_is_stopped_by_its_rate(held_with_link, stripe_fake, settings):
    phone = buyer_client("looping-browser")
    statuses = []
    for _ in range(settings.CHECKOUT_STARTS_PER_BUYER + 2):
        hold = phone.post(reverse("payments:scan", args=[held_with_link.scan_code]), {"quantity": 1},
                          REMOTE_ADDR=ADDRESS)
        statuses.append(hold.status_code)
        if hold.status_code == 303:
            checkout = Checkout.objects.get(session_url=hold["Location"])
            assert phone.get(held_checkout_leave_url(checkout.pk)).status_code == 302  # left: counts all the same
    assert statuses == [303] * settings.CHECKOUT_STARTS_PER_BUYER + [429] * 2
    assert b"checkouts in the last" in hold.content


def test_leave_runs_the_expiry_once_when_the_worker_has_claimed_it(held_with_link, stripe_fake, monkeypatch):
    # No in-process worker rings here: this test plays the worker itself, claiming first.
    monkeypatch.setattr("payments.work.records.ring_settlement_on_commit", lambda **kwargs: None)
    phone = buyer_client("buyer")
    hold = phone.post(reverse("payments:scan", args=[held_with_link.scan_code]), {"quantity": 1})
    checkout = Checkout.objects.get(session_url=hold["Location"])
    key = held_checkout_leave_record(checkout_id=checkout.pk)  # as if Stripe's Back was pressed twice
    (claimed,) = work_claim(STRIPE_JOB, limit=1, lease_seconds=60, where=Q(key=key))  # the worker takes it first
    assert phone.get(held_checkout_leave_url(checkout.pk)).status_code == 302
    assert not stripe_fake.calls("POST", EXPIRE)  # the worker holds the job: the request did not run it too
    settlement_drain(seconds=2)  # nothing due while the worker's lease runs
    assert not stripe_fake.calls("POST", EXPIRE)
    assert claimed.key == key


def test_a_stranger_cannot_leave_someone_elses_checkout(held_with_link, stripe_fake):
    phone = buyer_client("buyer")
    hold = phone.post(reverse("payments:scan", args=[held_with_link.scan_code]), {"quantity": 1})
    checkout = Checkout.objects.get(session_url=hold["Location"])
    stranger = Client()
    leave = reverse("payments:held_checkout_leave", args=[checkout.pk])
    for url in (leave, f"{leave}?token=forged", held_checkout_leave_url(checkout.pk).replace("token=", "token=x")):
        assert stranger.get(url).status_code == 403
    checkout.refresh_from_db()
    assert checkout.status == Checkout.Status.RESERVED and not stripe_fake.calls("POST", EXPIRE)
    assert b"Leave, and release my items" not in stranger.get(reverse("payments:checkout_page",
                                                                      args=[checkout.pk])).content
    page = phone.get(reverse("payments:checkout_page", args=[checkout.pk]))
    assert held_checkout_leave_url(checkout.pk).replace("&", "&amp;") in page.content.decode()  # the buyer's own
    assert phone.get(held_checkout_leave_url(checkout.pk)).status_code == 302
    checkout.refresh_from_db()
    assert checkout.status == Checkout.Status.LEFT
