"""Products in sizes: one row per variant keeps every stock rule per size; pages, feeds, booth and
admin show the product once, with each size (issue 11)."""

import csv
import io
import uuid
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from inventory import selectors
from inventory.broadcast import product_group
from inventory.exceptions import InsufficientStock, ProductNotFound, VariantRequired
from inventory.models import Product, StockMovement
from inventory.operations import MoveLine, stock_transfer
from inventory.services import StockLine, stock_decrease, stock_reserve_lines
from inventory.stock_csv import CsvImportRefused, stock_csv_export, stock_csv_import
from inventory.variants import size_sort_key
from tests.factories import offline_link
from tests.inventory.test_admin import changelist_form, form_data, movements
from tests.inventory.test_pages import page
from tests.live_feed import LayerListener

pytestmark = pytest.mark.django_db


@pytest.fixture
def booth(make_store):
    return make_store(store_id=f"store_V{uuid.uuid4().hex[:10]}", name="Hall V")


@pytest.fixture
def tee(booth, make_variants):
    """A tee in four sizes; M has one left, XL is sold out."""
    return make_variants(store=booth, name="Tee", sizes={"XL": 0, "M": 1, "S": 4, "L": 6}, low_stock_threshold=2)


# ---- the model: a variant is keyed by its price ----

def test_sizes_sort_as_people_read_them():
    assert sorted(["XL", "38", "M", "one size", "", "XS", "S", "42", "L", "2XL"], key=size_sort_key) == [
        "", "XS", "S", "M", "L", "XL", "2XL", "38", "42", "one size"]


def test_a_size_needs_its_own_price_and_cannot_be_there_twice(booth, tee, make_store):
    with pytest.raises(IntegrityError), transaction.atomic():
        Product.objects.create(store=booth, stripe_product_id=tee["M"].stripe_product_id, name="Tee", size="XXL")
    with pytest.raises(IntegrityError), transaction.atomic():
        Product.objects.create(store=booth, stripe_product_id=tee["M"].stripe_product_id, name="Tee", size="M",
                               stripe_price_id="price_other")
    with pytest.raises(IntegrityError), transaction.atomic():  # one price, one variant per store
        Product.objects.create(store=booth, stripe_product_id="prod_else", name="Else",
                               stripe_price_id=tee["M"].stripe_price_id)
    # the same price in another store is that store's own variant
    other = make_store()
    Product.objects.create(store=other, stripe_product_id=tee["M"].stripe_product_id, name="Tee", size="M",
                           stripe_price_id=tee["M"].stripe_price_id)


def test_the_family_is_one_product_with_totals_over_its_sizes(booth, tee):
    family = selectors.product_family_get(store_id=booth.pk, stripe_product_id=tee["M"].stripe_product_id)

    assert [v.size for v in family.variants] == ["S", "M", "L", "XL"]
    assert (family.available, family.sold_out, family.low_stock, family.payable) == (11, False, False, True)
    assert family.picker_legend == "Size" and family.has_variants
    assert family.variant_for(size="m") == tee["M"]
    assert family.variant_for(price_id=tee["L"].stripe_price_id) == tee["L"]
    assert family.variant_for() == tee["S"]  # the first still on sale
    assert tee["M"].display_name == "Tee (M)" and str(tee["M"]) == f"Tee (M) @ {booth.pk}"


def test_one_variant_is_found_by_its_price_and_a_product_in_sizes_needs_one(booth, tee, make_product):
    product_id = tee["M"].stripe_product_id

    assert selectors.product_get(store_id=booth.pk, stripe_product_id=product_id,
                                 price_id=tee["L"].stripe_price_id).pk == tee["L"].pk
    with pytest.raises(VariantRequired, match=r"Tee comes in several variants.*price_V\d+S \(S\)"):
        selectors.product_get(store_id=booth.pk, stripe_product_id=product_id)
    with pytest.raises(ProductNotFound):
        selectors.product_get(store_id=booth.pk, stripe_product_id=product_id, price_id="price_nope")
    plain = make_product(store=booth)
    assert selectors.product_get(store_id=booth.pk, stripe_product_id=plain.stripe_product_id).pk == plain.pk


# ---- every stock rule, per size ----

def test_selling_one_size_out_leaves_the_others_on_sale(tee):
    stock_decrease(product=tee["M"], quantity=1, source="cs_test_last_m")
    with pytest.raises(InsufficientStock, match=r"Tee \(M\): wanted 1, 0 left"):
        stock_decrease(product=tee["M"], quantity=1, source="cs_test_one_too_many")
    stock_decrease(product=tee["L"], quantity=2, source="cs_test_two_l")

    stock = dict(Product.objects.filter(pk__in=[v.pk for v in tee.values()]).values_list("size", "inventory"))
    assert stock == {"S": 4, "M": 0, "L": 4, "XL": 0}
    assert [(m.delta, m.balance_after) for m in movements(tee["M"])] == [(-1, 0)]
    assert [(m.delta, m.balance_after) for m in movements(tee["L"])] == [(-2, 4)]
    assert movements(tee["S"]) == []
    assert selectors.stock_drift() == []


def test_a_hold_on_one_size_takes_nothing_from_another(tee):
    stock_reserve_lines(lines=[StockLine(tee["M"].pk, 1)], hold_ref="chk_variant_m",
                        expires_at=timezone.now() + timedelta(minutes=5))
    family = selectors.product_family_get(store_id=tee["M"].store_id, stripe_product_id=tee["M"].stripe_product_id)
    by_size = {v.size: v for v in family.variants}
    assert (by_size["M"].available, by_size["M"].sold_out, by_size["S"].available) == (0, True, 4)
    assert family.available == 10


def test_a_sale_broadcasts_the_size_and_the_product_totals_to_the_product_page(
        tee, django_capture_on_commit_callbacks):
    listener = LayerListener()
    try:
        listener.join(product_group(tee["M"].store_id, tee["M"].stripe_product_id))
        with django_capture_on_commit_callbacks(execute=True):
            stock_decrease(product=tee["M"], quantity=1, source="cs_test_broadcast_m")
        message = listener.receive(timeout=3)
    finally:
        listener.close()
    assert (message["variant"], message["price"], message["size"]) == (tee["M"].pk, tee["M"].stripe_price_id, "M")
    assert (message["available"], message["sold_out"]) == (0, True)
    assert message["family"] == {"available": 10, "sold_out": False, "reserved": False, "low_stock": False, "payable": True,
                                 "state": "ok", "state_text": "In stock"}
    assert message["display_name"] == "Tee (M)"


def test_the_feed_snapshot_gives_each_size_with_the_product_totals(booth, tee):
    snapshots = selectors.stock_snapshots_for_page(store_id=booth.pk, stripe_product_id=tee["M"].stripe_product_id)

    assert [s["size"] for s in snapshots] == ["S", "M", "L", "XL"]
    assert {s["family"]["available"] for s in snapshots} == {11}
    assert [s["available"] for s in snapshots] == [4, 1, 6, 0]


# ---- pages ----

def test_product_page_has_a_size_picker_with_stock_per_size_and_sold_out_sizes_disabled(client, booth, tee):
    url = reverse("inventory:product_page", args=[booth.pk, tee["M"].stripe_product_id])

    doc = page(client.get(url))

    article = doc.find("article")
    assert (article.attrs["data-stock-product"], article.attrs["data-available"]) == (tee["M"].stripe_product_id, "11")
    assert "data-stock-variant" not in article.attrs
    options = doc.find_all("label", **{"class": "variant-option"})
    assert [o.find(**{"class": "variant-name"}).text() for o in options] == ["S", "M", "L", "XL"]
    radios = {o.find("input").attrs["value"]: o.find("input").attrs for o in options}
    assert "disabled" in radios[tee["XL"].stripe_price_id] and "disabled" not in radios[tee["M"].stripe_price_id]
    assert "checked" in radios[tee["S"].stripe_price_id]  # the first size still on sale
    assert [o.attrs["data-stock-variant"] for o in options] == [str(tee[s].pk) for s in ("S", "M", "L", "XL")]
    assert options[1].find(data_stock_count="").text() == "1"
    panels = {p.attrs["data-variant-panel"]: p for p in doc.find_all("section", **{"class": "variant-panel"})}
    assert [p.shown for p in panels.values()] == [True, False, False, False]
    # each size has its own Payment Link, reserve form and waitlist, all naming its price
    m = panels[tee["M"].stripe_price_id]
    assert m.find("a", **{"class": "button pay-button"}).attrs["href"] == tee["M"].payment_link_url
    reserve = m.find("form", **{"class": "reserve"})
    assert {i.attrs["name"]: i.attrs.get("value") for i in reserve.find_all("input", type="hidden")}["price"] == \
        tee["M"].stripe_price_id
    assert any(s.attrs.get("src", "").endswith("js/variant-picker.js") for s in doc.find_all("script"))


def test_product_page_shows_the_size_asked_for(client, booth, tee):
    url = reverse("inventory:product_page", args=[booth.pk, tee["M"].stripe_product_id])

    for query in ({"price": tee["XL"].stripe_price_id}, {"size": "xl"}):
        doc = page(client.get(url, query))
        shown = [p for p in doc.find_all("section", **{"class": "variant-panel"}) if p.shown]
        assert [p.attrs["data-variant-panel"] for p in shown] == [tee["XL"].stripe_price_id]
        # sold out, and the waitlist for XL is offered
        assert all(node.shown for node in shown[0].find_all(data_show_when="sold-out"))
        assert shown[0].find("form", **{"class": "waitlist"}).shown


def test_store_page_shows_the_product_once_with_its_sizes(client, booth, tee, make_product):
    make_product(store=booth, name="Mug", inventory=3)

    doc = page(client.get(reverse("inventory:store_page", args=[booth.pk])))

    cards = doc.find_all("li", **{"class": "product-card"})
    assert [c.find("h2").text() for c in cards] == ["Mug", "Tee"]
    card = cards[1]
    assert card.find(data_stock_count="").text() == "11"
    chips = card.find_all("li", **{"class": "variant-chip"})
    assert [c.text().split(",")[0] for c in chips] == ["S", "M", "L", "XL"]
    assert chips[3].attrs["data-sold-out"] == "true" and chips[3].find(data_show_when="sold-out").shown
    assert chips[1].find("a").attrs["href"].endswith(f"?price={tee['M'].stripe_price_id}")
    assert cards[0].find_all("li", **{"class": "variant-chip"}) == []  # a product without sizes has no chips


def test_booth_screen_and_qr_sheet_show_each_size(client, booth, tee):
    booth_doc = page(client.get(reverse("inventory:booth_screen", args=[booth.pk])))
    tiles = booth_doc.find_all("li", **{"class": "booth-tile"})
    assert [t.find(**{"class": "booth-variant"}).text() for t in tiles] == ["S", "M", "L", "XL"]
    assert [t.attrs["data-stock-variant"] for t in tiles] == [str(tee[s].pk) for s in ("S", "M", "L", "XL")]

    sheet = page(client.get(reverse("inventory:store_qr_sheet", args=[booth.pk])))
    cards = sheet.find_all("li", **{"class": "qr-card"})
    assert [c.find(**{"class": "qr-card-variant"}).text() for c in cards] == ["S", "M", "L", "XL"]
    assert cards[0].find(role="img").attrs["aria-label"].endswith("Tee (S)")


def test_qr_code_of_one_size(client, booth, tee):
    url = reverse("inventory:product_qr_svg", args=[booth.pk, tee["M"].stripe_product_id])
    assert client.get(url, {"price": tee["M"].stripe_price_id}).status_code == 200
    assert client.get(url).status_code == 404  # which size?


def test_pictures_come_from_an_upload_before_stripe(client, booth, tee, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    Product.objects.filter(pk__in=[v.pk for v in tee.values()]).update(image_url="https://files.stripe.com/tee.png")
    url = reverse("inventory:product_page", args=[booth.pk, tee["M"].stripe_product_id])
    assert page(client.get(url)).find("img").attrs["src"] == "https://files.stripe.com/tee.png"

    Product.objects.filter(pk__in=[v.pk for v in tee.values()]).update(image="products/tee.png")
    img = page(client.get(url)).find("img")
    assert (img.attrs["src"], img.attrs["alt"]) == ("/media/products/tee.png", "Tee")


# ---- the admin: each size is a row, the product's name is all of theirs ----

def test_list_edit_of_one_size_moves_only_that_size(admin_client, booth, tee):
    for v in tee.values():
        offline_link(v)
    data = changelist_form(admin_client, tee["M"], form__0__inventory=5)

    response = admin_client.post(reverse("admin:inventory_product_changelist") + f"?id__exact={tee['M'].pk}", data)

    assert response.status_code == 302
    stock = dict(Product.objects.filter(pk__in=[v.pk for v in tee.values()]).values_list("size", "inventory"))
    assert stock == {"S": 4, "M": 5, "L": 6, "XL": 0}
    assert [(m.delta, m.reason) for m in movements(tee["M"])] == [(4, StockMovement.Reason.RESTOCK)]


def test_renaming_one_size_renames_the_product(admin_client, booth, tee):
    url = reverse("admin:inventory_product_change", args=[tee["L"].pk])
    data = form_data(admin_client.get(url), "product_form", name="Festival tee", description="Now with sleeves.")

    response = admin_client.post(url, data)

    assert response.status_code == 302, response.context["adminform"].form.errors
    assert set(Product.objects.filter(stripe_product_id=tee["L"].stripe_product_id)
               .values_list("name", "description")) == {("Festival tee", "Now with sleeves.")}


def test_admin_refuses_a_size_without_a_price(admin_client, booth, tee):
    url = reverse("admin:inventory_product_change", args=[tee["L"].pk])
    data = form_data(admin_client.get(url), "product_form", stripe_price_id="")

    response = admin_client.post(url, data)

    assert response.status_code == 200
    assert "A size or colour needs its own Stripe price." in response.content.decode()


def test_a_picture_uploaded_on_one_size_is_the_products_and_only_raster_pictures_are_taken(
        admin_client, booth, tee, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    url = reverse("admin:inventory_product_change", args=[tee["M"].pk])
    png = b"\x89PNG\r\n\x1a\n" + b"\0" * 64

    refused = form_data(admin_client.get(url), "product_form")
    refused["image"] = SimpleUploadedFile("tee.svg", b"<svg onload='alert(1)'/>", content_type="image/svg+xml")
    response = admin_client.post(url, refused)
    assert response.status_code == 200 and "Upload a PNG, JPEG or WebP picture." in response.content.decode()
    disguised = form_data(admin_client.get(url), "product_form")
    disguised["image"] = SimpleUploadedFile("tee.png", b"<html>not a picture</html>", content_type="image/png")
    assert "not the picture its name says it is" in admin_client.post(url, disguised).content.decode()

    data = form_data(admin_client.get(url), "product_form")
    data["image"] = SimpleUploadedFile("tee.png", png, content_type="image/png")
    response = admin_client.post(url, data)

    assert response.status_code == 302, response.context["adminform"].form.errors
    images = set(Product.objects.filter(stripe_product_id=tee["M"].stripe_product_id).values_list("image", flat=True))
    assert len(images) == 1 and images.pop().startswith("products/tee")
    picture = client_get_picture(admin_client, tee["S"])
    assert picture.startswith("/media/products/tee")
    served = admin_client.get(picture)
    assert served.status_code == 200 and served["Content-Type"] == "image/png"


def client_get_picture(client, product) -> str:
    doc = page(client.get(reverse("inventory:product_page", args=[product.store_id, product.stripe_product_id])))
    return doc.find("img").attrs["src"]


# ---- the booth's day, per size: CSV and moves between booths ----

def test_stock_csv_has_a_row_per_size_and_a_product_in_sizes_needs_its_size(booth, tee):
    exported = stock_csv_export(store_ids=[booth.pk])
    rows = list(csv.reader(io.StringIO(exported)))
    assert rows[0][-2:] == ["size", "colour"]
    assert [row[-2] for row in rows[1:]] == ["S", "M", "L", "XL"]  # size order, not text order

    product_id = tee["M"].stripe_product_id
    result = stock_csv_import(content=(f"store,product,size,stock,tags\n{booth.pk},{product_id},M,5,apparel\n"
                                       ).encode())
    assert [c.split(":")[0] for c in result.stock_changed] == ["Tee (M)"]
    stock = dict(Product.objects.filter(pk__in=[v.pk for v in tee.values()]).values_list("size", "inventory"))
    assert stock == {"S": 4, "M": 5, "L": 6, "XL": 0}
    # tags are the product's: every size has them
    assert [p.tags for p in Product.objects.filter(stripe_product_id=product_id)] == [["apparel"]] * 4

    with pytest.raises(CsvImportRefused, match=r"sells prod_V\d+ in L, M, S, XL, not no size or colour: give its size"):
        stock_csv_import(content=f"store,product,stock\n{booth.pk},{product_id},3\n".encode())


def test_moving_stock_to_another_booth_moves_the_same_size(booth, tee, make_store, make_variants):
    hall_b = make_store(name="Hall B")
    there = make_variants(store=hall_b, name="Tee", sizes={"M": 0, "L": 0},
                          stripe_product_id=tee["M"].stripe_product_id)

    stock_transfer(from_store=booth, to_store=hall_b, lines=[MoveLine(tee["L"].pk, 2)], key="move-l")

    assert Product.objects.get(pk=there["L"].pk).inventory == 2
    assert Product.objects.get(pk=there["M"].pk).inventory == 0
    assert Product.objects.get(pk=tee["L"].pk).inventory == 4
