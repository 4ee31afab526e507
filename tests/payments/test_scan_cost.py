"""What a scan costs (issue 23): what a code shows is remembered per process for a moment, so in a
rush a Payment Link redirect, the held quantity page and a buyer turned away cost no query and no
write; a held buyer who gets units runs at most 10 queries; nobody turned away reaches Stripe."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from inventory.models import LowStockAlert, Product
from inventory.services import stock_decrease
from payments.checkout.session_pool import session_pool_fill
from payments.models import Checkout, StripeCall
from payments.scan import remembered
from payments.scan.remembered import scans_forget

pytestmark = pytest.mark.django_db

WRITES = ("INSERT", "UPDATE", "DELETE")


@pytest.fixture
def remembering(settings):
    settings.SCAN_CACHE_SECONDS = 60
    scans_forget()
    yield
    scans_forget()


@pytest.fixture
def link_product(stripe_offline, make_product):
    return make_product(inventory=5)


def _scan_url(product) -> str:
    return reverse("payments:scan", args=[product.scan_code])


def _writes(queries) -> list[str]:
    return [q["sql"] for q in queries.captured_queries if q["sql"].lstrip().upper().startswith(WRITES)]


def _statements(queries) -> list[str]:
    """The statements a request sends. The test's own transaction turns the view's outermost atomic
    block into SAVEPOINT/RELEASE, which in production is the connection's BEGIN/COMMIT."""
    return [q["sql"] for q in queries.captured_queries if not q["sql"].startswith(("SAVEPOINT", "RELEASE SAVEPOINT"))]


def test_a_link_scan_writes_nothing_and_the_next_ones_read_nothing(client, link_product, remembering):
    with CaptureQueriesContext(connection) as first:
        assert client.get(_scan_url(link_product))["Location"] == link_product.payment_link_url
    with CaptureQueriesContext(connection) as later:
        for _ in range(5):
            answer = client.get(_scan_url(link_product))
            assert answer.status_code == 302 and answer["Location"] == link_product.payment_link_url
    assert len(first.captured_queries) == 1 and not _writes(first)
    assert later.captured_queries == []


def test_a_remembered_link_scan_is_answered_before_the_view_and_a_held_one_is_not(client, link_product,
                                                                                 make_pooled_product, remembering,
                                                                                 monkeypatch):
    held = make_pooled_product(inventory=3, max_per_checkout=1, link=False)
    for product in (link_product, held):
        client.get(_scan_url(product))  # the view reads and remembers
    monkeypatch.setattr("payments.scan.views.scan_product", lambda **kw: pytest.fail("reached the view"))
    answer = client.get(_scan_url(link_product))
    assert answer.status_code == 302 and answer["Location"] == link_product.payment_link_url
    assert "csrftoken" not in answer.cookies and "sessionid" not in answer.cookies
    with pytest.raises(pytest.fail.Exception):
        client.get(_scan_url(held))  # a held product's page is the view's, remembered or not


def test_a_stock_change_in_this_process_forgets_what_it_remembered(client, link_product, remembering):
    client.get(_scan_url(link_product))
    stock_decrease(product=link_product, quantity=5, source="test-last-units", reason="sale")
    answer = client.get(_scan_url(link_product))
    assert answer.status_code == 200 and answer.context["sold_out"]  # the sold-out page, read afresh


def test_what_another_process_changed_shows_once_the_memory_is_stale(client, link_product, remembering,
                                                                    monkeypatch):
    stock_decrease(product=link_product, quantity=5, source="test-sold-out", reason="sale")
    assert client.get(_scan_url(link_product)).status_code == 200
    Product.objects.filter(pk=link_product.pk).update(inventory=3)  # a restock this process never saw
    assert client.get(_scan_url(link_product)).status_code == 200  # still remembered as sold out
    later = remembered.time.monotonic() + 61
    monkeypatch.setattr(remembered.time, "monotonic", lambda: later)
    assert client.get(_scan_url(link_product)).status_code == 302


def test_without_remembering_every_scan_reads_once(client, link_product):
    for _ in range(2):
        with CaptureQueriesContext(connection) as queries:
            client.get(_scan_url(link_product))
        assert len(queries.captured_queries) == 1 and not _writes(queries)


@pytest.fixture
def held_product(make_pooled_product):
    return make_pooled_product(inventory=20, max_per_checkout=1, link=False, low_stock_threshold=5)


@pytest.mark.parametrize("units_left, looks_for_an_alert", [(20, False), (5, True)])
def test_a_held_buyer_who_gets_units_runs_at_most_ten_queries(client, held_product, remembering, units_left,
                                                              looks_for_an_alert, django_capture_on_commit_callbacks):
    if units_left < 20:  # sold down to the threshold: the low-stock alert is open already
        stock_decrease(product=held_product, quantity=20 - units_left, source="test-earlier-sales", reason="sale")
        assert LowStockAlert.objects.filter(product=held_product, rearmed_at__isnull=True).exists()
    session_pool_fill(product_id=held_product.pk)
    client.get(_scan_url(held_product))  # the quantity page: what the scan shows is now remembered
    with CaptureQueriesContext(connection) as queries, django_capture_on_commit_callbacks(execute=True):
        assert client.post(_scan_url(held_product), {"quantity": 1}).status_code == 303
    statements = _statements(queries)
    # The buyer's and address's locks; their caps and rates (one statement); the product's lock;
    # the pooled session's claim; the checkout, the live holds, the hold and the checkout's line;
    # after commit, the live stock broadcast's snapshot. No product read (remembered), no link sync
    # (no Payment Link follows a held product), no waitlist look (a hold serves nobody waiting), and
    # the low-stock check only once the hold is at or below the threshold: one look for an open alert.
    assert len(statements) == 9 + looks_for_an_alert, "\n".join(s[:120] for s in statements)
    with CaptureQueriesContext(connection) as queries, django_capture_on_commit_callbacks(execute=True):
        assert client.post(_scan_url(held_product), {"quantity": 1},
                           REMOTE_ADDR="10.0.0.9").status_code == 303  # a hold that leaves units forgets nothing
    assert len(_statements(queries)) == 9 + looks_for_an_alert, "\n".join(s[:120] for s in _statements(queries))
    assert Checkout.objects.filter(status=Checkout.Status.RESERVED).count() == 2


def test_the_quantity_page_and_a_buyer_turned_away_cost_no_query_when_remembered(client, make_pooled_product,
                                                                                 remembering):
    product = make_pooled_product(inventory=1, max_per_checkout=1, link=False)
    client.post(_scan_url(product), {"quantity": 1}, REMOTE_ADDR="10.0.0.1")  # the last unit is held
    calls = StripeCall.objects.count()
    client.get(_scan_url(product), REMOTE_ADDR="10.0.0.2")  # read once: now remembered
    with CaptureQueriesContext(connection) as queries:
        page = client.get(_scan_url(product), REMOTE_ADDR="10.0.0.3")
        answer = client.post(_scan_url(product), {"quantity": 1}, REMOTE_ADDR="10.0.0.3")
    assert page.status_code == 200 and page.context["sold_out"]
    assert answer.status_code == 409 and b"Nothing was held and nothing was charged" in answer.content
    assert queries.captured_queries == []
    assert StripeCall.objects.count() == calls


def test_a_turned_away_buyer_costs_two_queries_and_no_stripe_call_unremembered(client, make_pooled_product):
    product = make_pooled_product(inventory=1, max_per_checkout=1, link=False)
    client.post(_scan_url(product), {"quantity": 1}, REMOTE_ADDR="10.0.0.1")
    calls = StripeCall.objects.count()
    with CaptureQueriesContext(connection) as queries:
        answer = client.post(_scan_url(product), {"quantity": 1}, REMOTE_ADDR="10.0.0.2")
    assert answer.status_code == 409 and b"Nothing was held and nothing was charged" in answer.content
    assert len(queries.captured_queries) <= 2 and not _writes(queries)  # the product, the other booths
    assert StripeCall.objects.count() == calls
