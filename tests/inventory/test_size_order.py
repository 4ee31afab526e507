"""Sizes in the order people read them (S, M, L, XL, then others) wherever staff see a list of them."""

import csv
import io
from datetime import date

import pytest
from django.urls import reverse

from backoffice.report import day_report
from inventory.models import Product
from inventory.stock_csv import stock_csv_export
from inventory.variants import size_rank, size_sort_key

pytestmark = pytest.mark.django_db

# As text sorts them: 2XL, 42, L, M, One size, S, XL.
MADE_IN = ["L", "XL", "S", "One size", "M", "2XL", "42"]
READ_AS = ["S", "M", "L", "XL", "2XL", "42", "One size"]


@pytest.fixture
def tee(make_store, make_product):
    store = make_store(name="Hall Z")
    for n, size in enumerate(MADE_IN):
        make_product(store=store, name="Tee", size=size, inventory=2, stripe_product_id="prod_SizeTee",
                     stripe_price_id=f"price_SizeTee{n}", link=False)
    return store


def test_the_database_orders_sizes_as_the_pages_do(tee):
    in_database = list(Product.objects.filter(store=tee).annotate(rank=size_rank()).order_by("rank", "size")
                       .values_list("size", flat=True))
    assert in_database == READ_AS == sorted(MADE_IN, key=size_sort_key)


def test_the_stock_csv_lists_sizes_in_size_order(tee):
    rows = list(csv.DictReader(io.StringIO(stock_csv_export(store_ids=[tee.pk]))))
    assert [r["size"] for r in rows] == READ_AS


def test_the_days_report_lists_sizes_in_size_order(tee):
    report = day_report(store=tee, day=date.today())
    assert [row.product.size for row in report.products] == READ_AS


def test_the_admins_product_list_lists_sizes_in_size_order(admin_client, tee):
    response = admin_client.get(reverse("admin:inventory_product_changelist") + f"?store__id__exact={tee.pk}")
    shown = [p.size for p in response.context["cl"].result_list]
    assert shown == READ_AS
    # and sorting by the size column (the column's header) sorts the same way
    response = admin_client.get(reverse("admin:inventory_product_changelist") + f"?store__id__exact={tee.pk}&o=2")
    assert [p.size for p in response.context["cl"].result_list] == READ_AS
