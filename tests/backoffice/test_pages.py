"""The booth pages driven as staff do: forms read from the rendered page, filled in, posted back."""

import uuid
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from inventory.models import Product, StockImport, StockMovement
from inventory.services import StockLine, stock_reserve_lines
from tests import factories
from tests.inventory.test_admin import form_data, messages_of

pytestmark = pytest.mark.django_db


def stock_of(product) -> int:
    return Product.objects.values_list("inventory", flat=True).get(pk=product.pk)


def product_in(store, stock: int, **fields):
    return factories.product_create(store=store, inventory=stock, link=False, **fields)


# --- counting -------------------------------------------------------------------------------------


def test_staff_count_a_booth_on_one_page(staff_client, booth_staff, hall_a):
    # given
    tee, mug, cap = product_in(hall_a, 10, name="Tee"), product_in(hall_a, 4, name="Mug"), product_in(hall_a, 3)
    url = reverse("backoffice:stocktake", args=[hall_a.pk])
    page = staff_client.get(url)
    assert 'data-count-row="%s"' % tee.stripe_product_id in page.content.decode()

    # when: 8 tees (2 damaged), 4 mugs (as shown), caps not counted
    data = form_data(page, "stocktake-form", **{f"counted-{tee.pk}": 8, f"reason-{tee.pk}": "damaged",
                                                 f"counted-{mug.pk}": 4})
    response = staff_client.post(url, data, follow=True)

    # then
    assert response.redirect_chain == [(url, 302)]
    assert "Count recorded for 2 products: Tee -2 (damaged)" in messages_of(response)[0]
    assert [stock_of(p) for p in (tee, mug, cap)] == [8, 4, 3]
    movement = StockMovement.objects.get(product=tee, reason="damaged")
    assert movement.actor == booth_staff and movement.source.startswith("stocktake:")
    # the same page sent again (a double click) changes nothing more
    staff_client.post(url, data)
    assert stock_of(tee) == 8


@pytest.mark.parametrize("fields, status, expected", [
    (lambda p: {f"counted-{p.pk}": "eight"}, 400, "“eight” is not a count"),
    (lambda p: {f"counted-{p.pk}": "-1"}, 400, "is not a count"),
    (lambda p: {f"counted-{p.pk}": "12", f"reason-{p.pk}": "lost"}, 400, "explains missing units"),
    (lambda p: {f"counted-{p.pk}": "3", f"reason-{p.pk}": "sale"}, 400, "pick a reason"),
    (lambda p: {f"counted-{p.pk}": "1"}, 409, "held for buyers"),
    (lambda p: {f"counted-{p.pk + 1}": ""}, 400, "Enter the count of at least one product"),
    (lambda p: {f"counted-{p.pk}": "3", "key": "not-a-key"}, 400, "This form has expired"),
    (lambda p: {f"counted-{p.pk}": "3", f"shown-{p.pk}": ""}, 400, "This line has expired"),
], ids=["words", "negative", "lost-upwards", "bad-reason", "below-held", "empty", "bad-key", "no-shown"])
def test_a_bad_count_shows_why_and_changes_nothing(staff_client, hall_a, fields, status, expected):
    tee, mug = product_in(hall_a, 10), product_in(hall_a, 4)  # the mug's line is good; p.pk + 1 is the mug
    stock_reserve_lines(lines=[StockLine(tee.pk, 2)], hold_ref="chk_page",
                        expires_at=timezone.now() + timedelta(minutes=5))
    url = reverse("backoffice:stocktake", args=[hall_a.pk])
    data = form_data(staff_client.get(url), "stocktake-form", **{f"counted-{mug.pk}": 3})
    data.update({k: [v] for k, v in fields(tee).items()})

    response = staff_client.post(url, data)

    assert response.status_code == status
    assert expected in response.content.decode()
    assert "Nothing was changed" in " ".join(messages_of(response))
    assert (stock_of(tee), stock_of(mug)) == (10, 4)
    assert not StockMovement.objects.filter(source__startswith="stocktake:").exists()


def test_a_count_with_several_problems_names_them_all_at_once(staff_client, hall_a):
    # given: a tee with 2 units held for a buyer, a mug and a cap
    tee, mug, cap = product_in(hall_a, 10, name="Tee"), product_in(hall_a, 4, name="Mug"), product_in(hall_a, 3, name="Cap")
    stock_reserve_lines(lines=[StockLine(tee.pk, 2)], hold_ref="chk_many",
                        expires_at=timezone.now() + timedelta(minutes=5))
    url = reverse("backoffice:stocktake", args=[hall_a.pk])

    # when: a word for the mug, "lost" for more caps than in stock, and fewer tees than are held
    data = form_data(staff_client.get(url), "stocktake-form", **{
        f"counted-{mug.pk}": "four", f"counted-{cap.pk}": 5, f"reason-{cap.pk}": "lost", f"counted-{tee.pk}": 1})
    response = staff_client.post(url, data)

    # then: one answer names all three, each next to its line, and nothing changed
    page = response.content.decode()
    assert response.status_code == 400
    assert "“four” is not a count" in page and "explains missing units" in page and "held for buyers" in page
    assert "3 problems to fix below" in " ".join(messages_of(response))
    assert [stock_of(p) for p in (tee, mug, cap)] == [10, 4, 3]
    assert not StockMovement.objects.filter(source__startswith="stocktake:").exists()


def test_an_unknown_booth_is_a_404(staff_client):
    assert staff_client.get(reverse("backoffice:stocktake", args=["store_nowhere"])).status_code == 404
    assert staff_client.get(reverse("backoffice:receive", args=["store_nowhere"])).status_code == 404


def test_pages_refuse_other_methods(staff_client, hall_a):
    assert staff_client.delete(reverse("backoffice:stocktake", args=[hall_a.pk])).status_code == 405
    assert staff_client.post(reverse("backoffice:report_index")).status_code == 405


# --- moving -------------------------------------------------------------------------------------


def test_staff_move_stock_between_booths(staff_client, hall_a, hall_b):
    tee_a = product_in(hall_a, 10, name="Tee")
    tee_b = factories.product_create(store=hall_b, inventory=0, link=False, name="Tee",
                              stripe_product_id=tee_a.stripe_product_id)
    product_in(hall_a, 5, name="Only in A")
    url = reverse("backoffice:transfer")
    page = staff_client.get(url, {"from": hall_a.pk, "to": hall_b.pk})
    assert "Only in A" not in page.content.decode()  # Hall B has nowhere to put it

    response = staff_client.post(url, form_data(page, "transfer-form", **{f"quantity-{tee_a.pk}": 4}), follow=True)

    assert "Moved from Hall A to Hall B: 4 × Tee." in messages_of(response)
    assert (stock_of(tee_a), stock_of(tee_b)) == (6, 4)


def test_a_move_of_more_than_is_free_is_a_conflict_and_moves_nothing(staff_client, hall_a, hall_b):
    tee_a = product_in(hall_a, 3, name="Tee")
    tee_b = factories.product_create(store=hall_b, inventory=0, link=False, stripe_product_id=tee_a.stripe_product_id)
    url = reverse("backoffice:transfer")
    page = staff_client.get(url, {"from": hall_a.pk, "to": hall_b.pk})

    response = staff_client.post(url, form_data(page, "transfer-form", **{f"quantity-{tee_a.pk}": 5}))

    assert response.status_code == 409
    assert "only 3 in stock" in response.content.decode()
    assert (stock_of(tee_a), stock_of(tee_b)) == (3, 0)


def test_a_move_needs_two_known_different_booths(staff_client, hall_a):
    url = reverse("backoffice:transfer")
    assert staff_client.get(url).status_code == 200
    assert staff_client.get(url, {"from": hall_a.pk, "to": hall_a.pk}).status_code == 400
    response = staff_client.post(url, {"from": hall_a.pk, "to": "store_nowhere", "key": uuid.uuid4().hex})
    assert response.status_code == 400 and "Pick booths from the lists" in response.content.decode()


# --- receiving ------------------------------------------------------------------------------------


def test_staff_receive_a_delivery_once(staff_client, hall_a):
    tee = product_in(hall_a, 2, name="Tee")
    url = reverse("backoffice:receive", args=[hall_a.pk])
    data = form_data(staff_client.get(url), "receive-form", reference="ACME-77", **{f"quantity-{tee.pk}": 24})

    first = staff_client.post(url, data, follow=True)
    again = staff_client.post(url, data, follow=True)

    assert "Delivery ACME-77 received: 24 × Tee." in messages_of(first)
    assert "was already received" in " ".join(messages_of(again))
    assert stock_of(tee) == 26


def test_a_delivery_without_reference_or_quantity_is_refused(staff_client, hall_a):
    tee = product_in(hall_a, 2)
    url = reverse("backoffice:receive", args=[hall_a.pk])
    page = staff_client.get(url)

    no_reference = staff_client.post(url, form_data(page, "receive-form", **{f"quantity-{tee.pk}": 3}))
    no_quantity = staff_client.post(url, form_data(page, "receive-form", reference="X-1"))
    bad_quantity = staff_client.post(url, form_data(page, "receive-form", reference="X-1",
                                                    **{f"quantity-{tee.pk}": "3.5"}))

    assert [r.status_code for r in (no_reference, no_quantity, bad_quantity)] == [400, 400, 400]
    assert "supplier&#x27;s reference" in no_reference.content.decode()
    assert "at least one product" in no_quantity.content.decode()
    assert "is not a quantity" in bad_quantity.content.decode()
    assert stock_of(tee) == 2


def test_a_delivery_with_several_problems_names_them_all_at_once(staff_client, hall_a):
    tee, mug = product_in(hall_a, 2, name="Tee"), product_in(hall_a, 2, name="Mug")
    url = reverse("backoffice:receive", args=[hall_a.pk])

    # no reference, a word for the tee, too many mugs
    response = staff_client.post(url, form_data(staff_client.get(url), "receive-form", **{
        f"quantity-{tee.pk}": "lots", f"quantity-{mug.pk}": 10_000_000}))

    page = response.content.decode()
    assert response.status_code == 400
    assert "supplier&#x27;s reference" in page and "“lots” is not a quantity" in page and "whole number from 1" in page
    assert (stock_of(tee), stock_of(mug)) == (2, 2)


# --- CSV ------------------------------------------------------------------------------------------


def test_staff_export_and_import_stock_as_csv(staff_client, hall_a):
    tee = product_in(hall_a, 5, name="Tee")
    exported = staff_client.get(reverse("backoffice:stock_csv_export"), {"store": hall_a.pk})
    assert exported["Content-Type"] == "text/csv; charset=utf-8" and "attachment" in exported["Content-Disposition"]
    text = exported.content.decode().replace(f'"{tee.stripe_product_id}","Tee",5,', f'"{tee.stripe_product_id}","Tee",9,')

    response = staff_client.post(reverse("backoffice:stock_csv"), {
        "file": SimpleUploadedFile("stock.csv", text.encode(), content_type="text/csv")}, follow=True)

    assert "stock.csv: 1 row read: stock changed for 1 product (" in messages_of(response)[0]
    assert stock_of(tee) == 9


def test_a_bad_csv_upload_lists_every_problem_and_changes_nothing(staff_client, hall_a):
    tee = product_in(hall_a, 5)
    text = f"store,product,stock\n{hall_a.pk},{tee.stripe_product_id},7\n{hall_a.pk},prod_missing,1\n{hall_a.pk},{tee.stripe_product_id},x\n"

    response = staff_client.post(reverse("backoffice:stock_csv"), {
        "file": SimpleUploadedFile("bad.csv", text.encode(), content_type="text/csv")})

    assert response.status_code == 400
    page = response.content.decode()
    assert "line 3: booth" in page and "line 4: stock must be a whole number" in page
    assert "bad.csv: not imported, nothing changed." in messages_of(response)
    assert stock_of(tee) == 5 and not StockImport.objects.exists()
    assert staff_client.post(reverse("backoffice:stock_csv"), {}).status_code == 400
    assert staff_client.get(reverse("backoffice:stock_csv_export"), {"store": "store_nowhere"}).status_code == 400


def test_the_admin_exports_selected_products(staff_client, hall_a):
    from tests.inventory.test_admin import action

    tee, mug = product_in(hall_a, 5, name="Tee"), product_in(hall_a, 2, name="Mug")
    response = staff_client.post(reverse("admin:inventory_product_changelist"),
                                 action(staff_client, "export_csv", [mug]))

    lines = response.content.decode().splitlines()
    assert lines[0] == '"store","product","name","stock","low_stock_threshold","tags","attributes","size","colour"'
    assert len(lines) == 2 and f',"{mug.stripe_product_id}","Mug",2,' in lines[1]
    assert tee.stripe_product_id not in response.content.decode()


# --- report picker --------------------------------------------------------------------------------


def test_the_report_picker_goes_to_the_report_or_says_what_is_wrong(staff_client, hall_a):
    url = reverse("backoffice:report_index")
    ok = staff_client.get(url, {"store": hall_a.pk, "day": "2026-05-14"})
    assert ok.status_code == 302 and ok["Location"] == reverse("backoffice:day_report", args=[hall_a.pk, "2026-05-14"])
    bad = staff_client.get(url, {"store": "store_nowhere", "day": "14/05/2026"})
    assert bad.status_code == 400
    assert "Pick a booth" in bad.content.decode() and "is not a day" in bad.content.decode()
    assert staff_client.get(reverse("backoffice:day_report", args=[hall_a.pk, "2026-02-30"])).status_code == 400
