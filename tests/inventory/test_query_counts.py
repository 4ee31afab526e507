"""Every page, feed snapshot and the reconcile check read a constant number of queries, however many
products there are: availability is an annotation (Product.objects.with_availability()), never a
query per product."""

import io
import uuid
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from inventory import selectors
from inventory.models import AvailabilityNotLoaded, Product
from inventory.services import StockLine, stock_decrease, stock_reserve_lines

pytestmark = pytest.mark.django_db


@pytest.fixture
def add_products(make_product):
    """``add_products(store, count)``: products with everything a page shows: stock, a hold, a sale, a
    Payment Link."""
    def add(store, count: int) -> None:
        for _ in range(count):
            p = make_product(store=store, inventory=6, low_stock_threshold=3)
            stock_decrease(product=p, quantity=1, source=f"cs_test_{uuid.uuid4().hex}")
            stock_reserve_lines(lines=[StockLine(p.pk, 1)], hold_ref=f"chk_{uuid.uuid4().hex}",
                                expires_at=timezone.now() + timedelta(minutes=10))

    return add


def queries(read) -> int:
    with CaptureQueriesContext(connection) as captured:
        read()
    return len(captured.captured_queries)


@pytest.fixture
def store(make_store):
    return make_store(name="Hall Q")


@pytest.fixture
def staff_client(client, django_user_model):
    client.force_login(django_user_model.objects.create_superuser("queries-staff", password="pw-queries-1"))
    return client


PAGES = {
    "store page": lambda c, s: c.get(reverse("inventory:store_page", args=[s.pk])),
    "QR sheet": lambda c, s: c.get(reverse("inventory:store_qr_sheet", args=[s.pk])),
    "booth screen": lambda c, s: c.get(reverse("inventory:booth_screen", args=[s.pk])),
    "booth sales": lambda c, s: c.get(reverse("inventory:booth_sales", args=[s.pk])),
    "dashboard": lambda c, s: c.get(reverse("inventory:staff_dashboard")),
    "dashboard JSON": lambda c, s: c.get(reverse("inventory:staff_dashboard_json")),
    "admin products": lambda c, s: c.get(reverse("admin:inventory_product_changelist"), {"store__id__exact": s.pk}),
    "admin low stock": lambda c, s: c.get(reverse("admin:inventory_product_changelist"), {"stock": "low"}),
    "store feed snapshot": lambda c, s: selectors.stock_snapshots_for_page(store_id=s.pk),
    "reconcile": lambda c, s: call_command("reconcile_stock", stdout=io.StringIO()),
}


@pytest.mark.parametrize("name", PAGES)
def test_queries_do_not_grow_with_the_number_of_products(name, staff_client, store, django_assert_num_queries,
                                                          add_products):
    read = PAGES[name]
    add_products(store, 1)
    with_one = queries(lambda: read(staff_client, store))

    add_products(store, 5)

    with django_assert_num_queries(with_one):
        response = read(staff_client, store)
    assert getattr(response, "status_code", 200) == 200


def test_a_product_read_without_its_availability_says_so_instead_of_querying(store, add_products):
    add_products(store, 1)
    plain = Product.objects.get(store=store)

    with pytest.raises(AvailabilityNotLoaded):
        plain.available
