"""The booth screen and the staff sales dashboard, through the Django test client.

Sales are ledger rows with reason "sale", written by the real stock services; rows are aged by
moving their created_at back (the only way to put a sale in the past).
"""

import uuid
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse
from django.utils import timezone

from inventory import selectors
from inventory.booth import BOOTH_WINDOW_MINUTES
from inventory.models import StockMovement
from inventory.services import StockLine, stock_decrease, stock_increase, stock_reserve_lines, stock_set
from tests.inventory.test_pages import page, shown_when, stock_containers

pytestmark = pytest.mark.django_db

DASHBOARD = reverse("inventory:staff_dashboard")
DASHBOARD_JSON = reverse("inventory:staff_dashboard_json")


@pytest.fixture
def booth(make_store):
    return make_store(name="Hall B")


def sell(product, quantity=1, *, minutes_ago: float = 0) -> StockMovement:
    movement = stock_decrease(product=product, quantity=quantity, source=f"cs_test_{uuid.uuid4().hex}")
    if minutes_ago:
        StockMovement.objects.filter(pk=movement.pk).update(
            created_at=timezone.now() - timedelta(minutes=minutes_ago))
    return movement


def booth_url(store) -> str:
    return reverse("inventory:booth_screen", args=[store.id])


@pytest.fixture
def staff(django_user_model):
    return django_user_model.objects.create_user("booth-staff", password="pw-staff-1", is_staff=True)


# ---- the selector ----

def test_units_sold_since_counts_only_sales_in_the_window_per_product(booth, make_product):
    # given: sales now and 20 minutes ago, and stock moves that are not sales
    tee = make_product(store=booth, inventory=20)
    mug = make_product(store=booth, inventory=20)
    elsewhere = make_product(inventory=20)
    sell(tee, 2)
    sell(tee, 1, minutes_ago=5)
    sell(tee, 4, minutes_ago=20)
    sell(mug, 3)
    sell(elsewhere, 1)
    stock_set(product=mug, level=10, source="count-1")                   # adjustment down: not a sale
    stock_increase(product=tee, quantity=5, source="restock-1")         # restock: not a sale
    stock_decrease(product=tee, quantity=1, source="broken-1", reason=StockMovement.Reason.ADJUSTMENT)

    # when
    since = timezone.now() - timedelta(minutes=15)
    in_store = selectors.units_sold_since(since=since, store_id=booth.pk)
    everywhere = selectors.units_sold_since(since=since)

    # then
    assert in_store == {tee.pk: 3, mug.pk: 3}
    assert everywhere == {tee.pk: 3, mug.pk: 3, elsewhere.pk: 1}


# ---- booth screen ----

def test_booth_screen_shows_every_product_stock_state_and_recent_sales(client, booth, make_product):
    # given
    tee = make_product(store=booth, name="Tee", inventory=12, low_stock_threshold=3)
    mug = make_product(store=booth, name="Mug", inventory=4, low_stock_threshold=3)
    tote = make_product(store=booth, name="Tote", inventory=1)
    cap = make_product(store=booth, name="Cap", inventory=5, payment_link_paused=True,
                       payment_link_active=False)
    sell(tee, 2)
    sell(tee, 1, minutes_ago=BOOTH_WINDOW_MINUTES + 1)  # outside the window
    sell(mug, 2, minutes_ago=3)
    sell(tote, 1)

    # when
    doc = page(client.get(booth_url(booth)))

    # then: one tile per product, all on the store's live feed
    body = doc.find("body")
    assert body.attrs["data-live-stock-path"] == f"/ws/stock/{booth.id}/"
    assert "booth-screen" in body.attrs["class"]
    scripts = [s.attrs.get("src", "") for s in doc.find_all("script")]
    assert any(s.endswith("js/live-stock.js") for s in scripts) and any(s.endswith("js/booth.js") for s in scripts)
    assert doc.find("h1").text() == "Hall B"
    section = doc.find(data_booth="")
    assert section.attrs["data-sales-url"] == reverse("inventory:booth_sales", args=[booth.id])
    tiles = {t.attrs["data-stock-product"]: t for t in stock_containers(doc)}
    assert set(tiles) == {p.stripe_product_id for p in (tee, mug, tote, cap)}

    tile = tiles[tee.stripe_product_id]
    assert tile.find(data_stock_count="").text() == "9"
    assert tile.find(data_sold_recently="").text() == "2"
    assert f"sold in the last {BOOTH_WINDOW_MINUTES}" in tile.text()
    assert not shown_when(tile, "sold-out") and not shown_when(tile, "low-stock")

    tile = tiles[mug.stripe_product_id]
    assert tile.find(data_stock_count="").text() == "2" and tile.find(data_sold_recently="").text() == "2"
    assert shown_when(tile, "low-stock")

    tile = tiles[tote.stripe_product_id]
    assert tile.attrs["data-sold-out"] == "true"
    assert shown_when(tile, "sold-out") and not shown_when(tile, "in-stock")
    assert tile.find(data_sold_recently="").text() == "1"

    tile = tiles[cap.stripe_product_id]
    assert shown_when(tile, "unavailable") and tile.find(data_sold_recently="").text() == "0"


def test_booth_screen_shows_stock_less_units_held_by_checkouts(client, booth, make_product):
    tee = make_product(store=booth, inventory=5)
    stock_reserve_lines(lines=[StockLine(tee.pk, 2)], hold_ref="hold-1",
                        expires_at=timezone.now() + timedelta(minutes=10))

    tile = page(client.get(booth_url(booth))).find(data_stock_product=tee.stripe_product_id)

    assert tile.find(data_stock_count="").text() == "3"
    assert tile.find(data_sold_recently="").text() == "0"  # a hold is not a sale


def test_booth_screen_of_an_unknown_store_is_404(client):
    assert client.get(reverse("inventory:booth_screen", args=["store_Nope"])).status_code == 404
    assert client.get(reverse("inventory:booth_sales", args=["store_Nope"])).status_code == 404


def test_booth_sales_json_gives_recent_sales_and_stock_per_variant(client, booth, make_product):
    tee = make_product(store=booth, inventory=6)
    mug = make_product(store=booth, inventory=1)
    sell(tee, 2)
    sell(tee, 3, minutes_ago=30)
    sell(mug, 1, minutes_ago=1)

    response = client.get(reverse("inventory:booth_sales", args=[booth.id]))

    assert response.status_code == 200
    assert "no-cache" in response["Cache-Control"]
    assert response.json() == {
        "store": booth.id,
        "window_minutes": BOOTH_WINDOW_MINUTES,
        "variants": {
            str(tee.pk): {"product": tee.stripe_product_id, "price": tee.stripe_price_id, "variant_label": "",
                          "sold_recently": 2, "available": 1, "sold_out": False},
            str(mug.pk): {"product": mug.stripe_product_id, "price": mug.stripe_price_id, "variant_label": "",
                          "sold_recently": 1, "available": 0, "sold_out": True},
        },
    }


# ---- staff dashboard ----

@pytest.mark.parametrize("url", [DASHBOARD, DASHBOARD_JSON])
def test_dashboard_sends_anonymous_visitors_to_the_admin_login(client, url):
    response = client.get(url)

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))
    assert f"next={url}" in response["Location"]


@pytest.mark.parametrize("url", [DASHBOARD, DASHBOARD_JSON])
def test_dashboard_refuses_signed_in_users_who_are_not_staff(client, django_user_model, url):
    client.force_login(django_user_model.objects.create_user("attendee", password="pw-attendee-1"))

    response = client.get(url)

    assert response.status_code == 302 and response["Location"].startswith(reverse("admin:login"))


def test_dashboard_json_counts_sales_today_and_last_hour_and_warns_of_low_stock(client, booth, staff, make_product):
    # given
    now = timezone.now()
    minutes_since_midnight = (now - timezone.localtime(now).replace(hour=0, minute=0, second=0,
                                                                    microsecond=0)).total_seconds() / 60
    tee = make_product(store=booth, name="Tee", inventory=30, low_stock_threshold=3)
    mug = make_product(store=booth, name="Mug", inventory=5, low_stock_threshold=3)
    tote = make_product(store=booth, name="Tote", inventory=1)
    quiet = make_product(store=booth, name="Quiet", inventory=9, low_stock_threshold=2)
    sell(tee, 2)                                    # last hour and today
    sell(tee, 3, minutes_ago=59)                    # last hour and today
    if minutes_since_midnight > 61:                 # a sale earlier today, outside the last hour
        sell(tee, 4, minutes_ago=61)
        earlier_today = 4
    else:
        earlier_today = 0
    sell(tee, 5, minutes_ago=minutes_since_midnight + 1)  # yesterday
    sell(mug, 3, minutes_ago=2)
    sell(tote, 1, minutes_ago=10)
    client.force_login(staff)

    # when
    data = client.get(DASHBOARD_JSON).json()

    # then
    rows = {r["product"]: r for r in data["products"] if r["store"] == booth.id}
    assert set(rows) == {p.stripe_product_id for p in (tee, mug, tote, quiet)}
    assert (rows[tee.stripe_product_id]["sold_last_hour"], rows[tee.stripe_product_id]["sold_today"]) == (
        5, 5 + earlier_today)
    assert rows[tee.stripe_product_id]["inventory"] == 30 - 14 + (4 - earlier_today)
    assert (rows[mug.stripe_product_id]["sold_last_hour"], rows[mug.stripe_product_id]["sold_today"]) == (3, 3)
    assert rows[mug.stripe_product_id]["available"] == 2 and rows[mug.stripe_product_id]["low_stock"] is True
    assert rows[tote.stripe_product_id]["sold_out"] is True and rows[tote.stripe_product_id]["sold_today"] == 1
    assert (rows[quiet.stripe_product_id]["sold_today"], rows[quiet.stripe_product_id]["sold_last_hour"]) == (0, 0)
    assert rows[tee.stripe_product_id]["admin_url"] == reverse("admin:inventory_product_change", args=[tee.pk])
    # sold out first, then the lowest stock; products above their threshold are not warned about
    ours = [pk for pk in data["low_stock"] if pk in {tee.pk, mug.pk, tote.pk, quiet.pk}]
    assert ours == [tote.pk, mug.pk]


def test_dashboard_page_renders_rows_warnings_and_live_feeds_for_staff(client, booth, staff, make_product):
    # given
    tee = make_product(store=booth, name="Tee", inventory=10, low_stock_threshold=3)
    mug = make_product(store=booth, name="Mug", inventory=2, low_stock_threshold=3)
    sell(tee, 2)
    client.force_login(staff)

    # when
    response = client.get(DASHBOARD)

    # then
    doc = page(response)
    assert doc.find("h1").text() == "Sales dashboard"
    row = doc.find(data_dashboard_row=str(tee.pk))
    cells = {c.attrs["data-cell"]: c.text() for c in row.find_all("td") if "data-cell" in c.attrs}
    assert cells == {"inventory": "8", "available": "8", "sold_today": "2", "sold_last_hour": "2",
                     "state": "In stock"}
    row = doc.find(data_dashboard_row=str(mug.pk))
    assert row.attrs["data-state"] == "low"
    warnings = doc.find(data_low_stock_list="")
    assert f"Mug at Hall B: 2 left (threshold 3)" in warnings.text()
    assert "Tee" not in warnings.text()
    assert f"/ws/stock/{booth.id}/" in response.context["feeds"]
    assert '"/ws/stock/' in response.content.decode()  # json_script for booth.js
    assert reverse("inventory:booth_screen", args=[booth.id]) in {a.attrs.get("href") for a in doc.find_all("a")}


def test_dashboard_times_are_the_booths_own(client, booth, staff, make_product):
    # given: the only booth is in New York, the server in UTC
    booth.time_zone = "America/New_York"
    booth.save(update_fields=["time_zone"])
    make_product(store=booth, name="Tee", inventory=10)
    client.force_login(staff)

    # when
    response = client.get(DASHBOARD)
    data = client.get(DASHBOARD_JSON).json()

    # then: today starts at New York's midnight, and the page says whose clock it reads
    doc = page(response)
    start = doc.find_all("time")[0].attrs["datetime"]
    assert start.endswith("T00:00:00-05:00"), start
    assert data["today_start"].endswith("T00:00:00-05:00")
    assert data["generated_at_text"].endswith(("AM", "PM")), data  # the locale's clock, in New York
    assert "Times in America/New_York" in doc.text()
    assert "Times in UTC" not in doc.text()


def test_dashboard_names_the_site_zone_when_booths_differ(client, booth, staff, make_store):
    make_store(name="Hall C").__class__.objects.filter(name="Hall C").update(time_zone="Europe/Berlin")
    client.force_login(staff)

    doc = page(client.get(DASHBOARD))

    assert "Times in UTC" in doc.text()
    assert doc.find_all("time")[0].attrs["datetime"].endswith("T00:00:00+00:00")


def test_admin_index_links_the_dashboard(client, staff):
    client.force_login(get_user_model().objects.create_superuser("boss", password="pw-boss-1"))

    doc = page(client.get(reverse("admin:index")))

    assert DASHBOARD in {a.attrs.get("href") for a in doc.find_all("a")}
    assert "Product" in doc.text()  # the admin's own application list is still there
