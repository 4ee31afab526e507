"""What a scan costs (issue 23): a Payment Link scan is a redirect remembered per process, with no
write at all; a held submit runs a bounded number of queries, and a buyer turned away runs almost
none and never reaches Stripe."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from inventory.models import Product
from inventory.services import stock_decrease
from payments.checkout.session_pool import session_pool_fill
from payments.models import StripeCall
from payments.scan.link_targets import link_scan_targets_forget

pytestmark = pytest.mark.django_db

WRITES = ("INSERT", "UPDATE", "DELETE")


@pytest.fixture
def remembering(settings):
    settings.SCAN_LINK_CACHE_SECONDS = 60
    link_scan_targets_forget()
    yield
    link_scan_targets_forget()


@pytest.fixture
def link_product(stripe_offline, make_product):
    return make_product(inventory=5)


def _scan_url(product) -> str:
    return reverse("payments:scan", args=[product.scan_code])


def _writes(queries) -> list[str]:
    return [q["sql"] for q in queries.captured_queries if q["sql"].lstrip().upper().startswith(WRITES)]


def test_a_link_scan_writes_nothing_and_the_next_ones_read_nothing(client, link_product, remembering):
    with CaptureQueriesContext(connection) as first:
        assert client.get(_scan_url(link_product))["Location"] == link_product.payment_link_url
    with CaptureQueriesContext(connection) as later:
        for _ in range(5):
            answer = client.get(_scan_url(link_product))
            assert answer.status_code == 302 and answer["Location"] == link_product.payment_link_url
    assert len(first.captured_queries) == 1 and not _writes(first)
    assert later.captured_queries == []


def test_a_stock_change_in_this_process_forgets_the_redirect(client, link_product, remembering):
    client.get(_scan_url(link_product))
    stock_decrease(product=link_product, quantity=5, source="test-last-units", reason="sale")
    answer = client.get(_scan_url(link_product))
    assert answer.status_code == 200 and answer.context["sold_out"]  # the sold-out page, read afresh


def test_a_sold_out_product_is_never_remembered(client, link_product, remembering):
    stock_decrease(product=link_product, quantity=5, source="test-sold-out", reason="sale")
    assert client.get(_scan_url(link_product)).status_code == 200
    Product.objects.filter(pk=link_product.pk).update(inventory=3)  # a restock, even one no signal saw
    assert client.get(_scan_url(link_product)).status_code == 302


def test_without_remembering_every_scan_reads_once(client, link_product):
    for _ in range(2):
        with CaptureQueriesContext(connection) as queries:
            client.get(_scan_url(link_product))
        assert len(queries.captured_queries) == 1 and not _writes(queries)


@pytest.fixture
def held_product(make_pooled_product):
    return make_pooled_product(inventory=1, max_per_checkout=1, link=False)


def test_a_held_submit_with_a_pooled_session_runs_at_most_20_queries(client, held_product):
    session_pool_fill(product_id=held_product.pk)
    with CaptureQueriesContext(connection) as queries:
        assert client.post(_scan_url(held_product), {"quantity": 1}).status_code == 303
    # product; the client's cap (lock, open checkouts, units: 3); the product lock and the pooled
    # session's claim (3); the checkout, the hold and its line, with the stock service's own lock,
    # holds and follow-ups (low stock, link sync) (9); BEGIN/COMMIT; the broadcast's snapshot and the
    # waitlist look after commit.
    assert len(queries.captured_queries) <= 20, "\n".join(q["sql"][:120] for q in queries.captured_queries)


def test_a_turned_away_buyer_costs_two_queries_and_no_stripe_call(client, held_product):
    client.post(_scan_url(held_product), {"quantity": 1}, REMOTE_ADDR="10.0.0.1")
    calls = StripeCall.objects.count()
    with CaptureQueriesContext(connection) as queries:
        answer = client.post(_scan_url(held_product), {"quantity": 1}, REMOTE_ADDR="10.0.0.2")
    assert answer.status_code == 409 and b"Nothing was held and nothing was charged" in answer.content
    assert len(queries.captured_queries) <= 2 and not _writes(queries)  # the product, the other booths
    assert StripeCall.objects.count() == calls
