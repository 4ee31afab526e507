"""Back office, driven as staff do it: forms read from the rendered page, changed, and posted back.

Stock edits must go through inventory.services: one ledger row per change, with the staff member
as actor, and the broadcast only after commit.
"""

from datetime import timedelta
from html.parser import HTMLParser

import pytest
from django.urls import reverse
from django.utils import timezone

from inventory.broadcast import product_group
from inventory.models import Product, StockMovement
from inventory.services import StockLine, stock_decrease, stock_reserve_lines
from payments.models import StripeCall
from tests.factories import offline_link
from tests.live_feed import LayerListener

pytestmark = pytest.mark.django_db

CHANGELIST = reverse("admin:inventory_product_changelist")


class _FormReader(HTMLParser):
    """What a browser would submit from the form with the given id (first submit button included)."""

    def __init__(self, form_id: str):
        super().__init__(convert_charrefs=True)
        self.form_id, self.inside, self.data = form_id, False, []
        self._select = self._textarea = None
        self._submitted = False

    def handle_starttag(self, tag, attrs):
        a = {k: v if v is not None else "" for k, v in attrs}
        if tag == "form":
            self.inside = a.get("id") == self.form_id
        if not self.inside:
            return
        kind = a.get("type", "text")
        if tag == "input" and "name" in a and "disabled" not in a:
            if kind in ("checkbox", "radio"):
                if "checked" in a:
                    self.data.append((a["name"], a.get("value", "on")))
            elif kind == "submit":
                if not self._submitted:
                    self._submitted = True
                    self.data.append((a["name"], a.get("value", "")))
            elif kind not in ("file", "button", "reset"):
                self.data.append((a["name"], a.get("value", "")))
        elif tag == "select" and "name" in a:
            self._select = [a["name"], None, None]  # name, first option, selected option
        elif tag == "option" and self._select is not None:
            value = a.get("value", "")
            self._select[1] = value if self._select[1] is None else self._select[1]
            if "selected" in a:
                self._select[2] = value
        elif tag == "textarea" and "name" in a:
            self._textarea = [a["name"], ""]

    def handle_endtag(self, tag):
        if tag == "form":
            self.inside = False
        elif tag == "select" and self._select is not None:
            name, first, selected = self._select
            self.data.append((name, selected if selected is not None else first or ""))
            self._select = None
        elif tag == "textarea" and self._textarea is not None:
            self.data.append(tuple(self._textarea))
            self._textarea = None

    def handle_data(self, data):
        if self._textarea is not None:
            self._textarea[1] += data.lstrip("\n") if not self._textarea[1] else data


def form_data(response, form_id: str, **changes) -> dict:
    assert response.status_code == 200, response.status_code
    reader = _FormReader(form_id)
    reader.feed(response.content.decode())
    data: dict[str, list[str]] = {}
    for name, value in reader.data:
        data.setdefault(name, []).append(value)
    for name, value in changes.items():
        data[name.replace("__", "-")] = [str(value)]
    return data


def changelist_form(client, product: Product, **changes) -> dict:
    """The product list filtered to one product, as the browser would post it back."""
    return form_data(client.get(CHANGELIST, {"id__exact": product.pk}), "changelist-form", **changes)


def action(client, action_name: str, products: list[Product], **fields):
    page = client.get(CHANGELIST)
    data = form_data(page, "changelist-form", action=action_name, **fields)
    data.pop("_save", None)  # the list's Save button; an action is sent with its own Go button
    data["index"] = ["0"]
    data["_selected_action"] = [str(p.pk) for p in products]
    return data


def messages_of(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


def movements(product: Product) -> list[StockMovement]:
    return list(StockMovement.objects.filter(product=product).exclude(source__startswith="test-initial:"))


@pytest.fixture
def booth(make_store):
    return make_store()


@pytest.fixture
def listener():
    """A channel in the product's broadcast group, on the real (Redis) channel layer."""
    layer = LayerListener()

    class Listener:
        def join(self, product: Product):
            layer.join(product_group(product.store_id, product.stripe_product_id))

        def receive(self, timeout: float = 3.0):
            return layer.receive(timeout)

    yield Listener()
    layer.close()


# ---- stock edited in the product list ----

def test_list_edit_of_stock_writes_one_ledger_row_and_broadcasts_after_commit(
    admin_client, admin_user, booth, listener, django_capture_on_commit_callbacks, make_product
):
    # given
    hoodie = make_product(store=booth, name="Hoodie", inventory=10, link_at=offline_link)
    listener.join(hoodie)
    data = changelist_form(admin_client, hoodie, form__0__inventory=7)

    # when
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = admin_client.post(CHANGELIST + f"?id__exact={hoodie.pk}", data)
        assert response.status_code == 302
        assert listener.receive(timeout=0.3) is None, "broadcast before commit"

    # then
    assert callbacks
    hoodie.refresh_from_db()
    assert hoodie.inventory == 7
    [movement] = movements(hoodie)
    assert (movement.delta, movement.balance_after, movement.reason, movement.actor) == (
        -3, 7, StockMovement.Reason.ADJUSTMENT, admin_user)
    assert movement.source.startswith(f"admin:{admin_user.pk}:")
    message = listener.receive()
    assert message["type"] == "stock.updated"
    assert (message["product"], message["inventory"], message["sold_out"]) == (hoodie.stripe_product_id, 7, False)


def test_list_edit_leaves_an_untouched_row_alone_when_a_sale_moved_it(admin_client, booth, make_product):
    # given: the page showed 10, then a sale took one
    tee = make_product(store=booth, inventory=10, link=False)
    data = changelist_form(admin_client, tee)
    stock_decrease(product=tee, quantity=1, source="test-sale-while-page-open")

    # when: staff save the list without touching that row
    admin_client.post(CHANGELIST + f"?id__exact={tee.pk}", data)

    # then: the sale stands
    tee.refresh_from_db()
    assert tee.inventory == 9
    assert [m.source for m in movements(tee)] == ["test-sale-while-page-open"]


def test_negative_stock_in_the_list_is_a_form_error_and_changes_nothing(admin_client, booth, make_product):
    # given
    mug = make_product(store=booth, inventory=4)
    data = changelist_form(admin_client, mug, form__0__inventory=-3)

    # when
    response = admin_client.post(CHANGELIST + f"?id__exact={mug.pk}", data)

    # then
    assert response.status_code == 200
    assert "greater than or equal to 0" in response.content.decode()
    mug.refresh_from_db()
    assert mug.inventory == 4
    assert movements(mug) == []


# ---- stock edited in the change and add forms ----

def test_change_form_saves_other_fields_and_sets_stock_through_the_ledger(admin_client, admin_user, booth,
                                                                          make_product):
    # given
    cap = make_product(store=booth, name="Cap", inventory=6, link=False)
    url = reverse("admin:inventory_product_change", args=[cap.pk])
    data = form_data(admin_client.get(url), "product_form", name="Black cap", inventory=9)

    # when
    response = admin_client.post(url, data)

    # then
    assert response.status_code == 302, response.context["adminform"].form.errors
    cap.refresh_from_db()
    assert (cap.name, cap.inventory) == ("Black cap", 9)
    [movement] = movements(cap)
    assert (movement.delta, movement.reason, movement.actor) == (3, StockMovement.Reason.RESTOCK, admin_user)


def test_change_form_rejects_negative_stock(admin_client, booth, make_product):
    cap = make_product(store=booth, name="Cap", inventory=6, link=False)
    url = reverse("admin:inventory_product_change", args=[cap.pk])
    data = form_data(admin_client.get(url), "product_form", name="Renamed", inventory=-1)

    response = admin_client.post(url, data)

    assert response.status_code == 200
    assert response.context["adminform"].form.errors["inventory"]
    cap.refresh_from_db()
    assert (cap.name, cap.inventory) == ("Cap", 6)
    assert movements(cap) == []


def test_change_form_shows_the_ledger_read_only(admin_client, booth, make_product):
    cap = make_product(store=booth, inventory=6, link=False)

    response = admin_client.get(reverse("admin:inventory_product_change", args=[cap.pk]))

    html = response.content.decode()
    assert f"test-initial:{cap.pk}" in html
    assert 'name="movements-0-delta"' not in html  # rendered as text, not as a field


def test_add_form_creates_the_product_at_zero_then_sets_stock_through_the_ledger(admin_client, admin_user, booth):
    # given
    add_url = reverse("admin:inventory_product_add")
    data = form_data(admin_client.get(add_url), "product_form", store=booth.pk, name="Scarf",
                     stripe_product_id="prod_Scarf", unit_amount=1900, currency="usd", inventory=5)

    # when
    response = admin_client.post(add_url, data)

    # then
    assert response.status_code == 302, response.context["adminform"].form.errors
    scarf = Product.objects.get(store=booth, stripe_product_id="prod_Scarf")
    assert scarf.inventory == 5
    [movement] = movements(scarf)
    assert (movement.delta, movement.balance_after, movement.actor) == (5, 5, admin_user)


# ---- actions ----

@pytest.mark.parametrize("quantity", ["", "0", "-2", "abc", "1.5"])
def test_restock_with_a_bad_quantity_says_why_and_changes_nothing(admin_client, booth, quantity, make_product):
    tee = make_product(store=booth, inventory=3)

    response = admin_client.post(CHANGELIST, action(admin_client, "restock", [tee], quantity=quantity), follow=True)

    assert any("Restock needs a whole number" in m for m in messages_of(response))
    tee.refresh_from_db()
    assert tee.inventory == 3
    assert movements(tee) == []


def test_restock_adds_to_each_selected_product_with_a_ledger_row(admin_client, admin_user, booth, make_product):
    # given
    tee = make_product(store=booth, inventory=3, link=False)
    mug = make_product(store=booth, inventory=0, link=False)
    untouched = make_product(store=booth, inventory=1, link=False)

    # when
    response = admin_client.post(CHANGELIST, action(admin_client, "restock", [tee, mug], quantity="4"), follow=True)

    # then
    assert "Added 4 units to each of 2 products." in messages_of(response)
    for product, expected in ((tee, 7), (mug, 4), (untouched, 1)):
        product.refresh_from_db()
        assert product.inventory == expected
    for product in (tee, mug):
        [movement] = movements(product)
        assert (movement.delta, movement.reason, movement.actor) == (4, StockMovement.Reason.RESTOCK, admin_user)
    assert movements(untouched) == []


def test_restock_form_sent_twice_restocks_once(admin_client, booth, make_product):
    tee = make_product(store=booth, inventory=3, link=False)
    data = action(admin_client, "restock", [tee], quantity="5")

    admin_client.post(CHANGELIST, data)
    response = admin_client.post(CHANGELIST, data, follow=True)

    tee.refresh_from_db()
    assert tee.inventory == 8
    assert len(movements(tee)) == 1
    assert any("already been restocked" in m for m in messages_of(response))


def test_link_switches_set_paused_and_payments_follow(admin_client, booth, django_capture_on_commit_callbacks,
                                                       make_product):
    # given
    tee = make_product(store=booth, inventory=3, link_at=offline_link)
    other = make_product(store=booth, inventory=3, link_at=offline_link)

    # when: off
    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post(CHANGELIST, action(admin_client, "switch_link_off", [tee]))

    # then
    tee.refresh_from_db()
    other.refresh_from_db()
    assert (tee.payment_link_paused, tee.payment_link_active) == (True, False)
    assert (other.payment_link_paused, other.payment_link_active) == (False, True)
    assert tee.inventory == 3

    # when: back on
    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post(CHANGELIST, action(admin_client, "switch_link_on", [tee]))

    # then
    tee.refresh_from_db()
    assert (tee.payment_link_paused, tee.payment_link_active) == (False, True)


# ---- finding products, and the ledger's own page ----

def test_stock_level_filter(admin_client, booth, make_product):
    sold_out = make_product(store=booth, name="Gone", inventory=0)
    low = make_product(store=booth, name="Nearly", inventory=2, low_stock_threshold=3)
    plenty = make_product(store=booth, name="Plenty", inventory=30, low_stock_threshold=3)

    def listed(level):
        response = admin_client.get(CHANGELIST, {"stock": level, "store__id__exact": booth.pk})
        return {p.pk for p in response.context["cl"].result_list}

    assert listed("sold_out") == {sold_out.pk}
    assert listed("low") == {low.pk}
    assert listed("in_stock") == {plenty.pk}


def test_stock_level_filter_counts_units_held_by_checkouts_as_gone(admin_client, booth, make_product):
    held = make_product(store=booth, name="Held", inventory=2)
    stock_reserve_lines(lines=[StockLine(held.pk, 2)], hold_ref="chk_test_admin",
                        expires_at=timezone.now() + timedelta(minutes=10))

    response = admin_client.get(CHANGELIST, {"stock": "sold_out", "store__id__exact": booth.pk})

    [row] = response.context["cl"].result_list
    assert (row.pk, row.inventory, row.available) == (held.pk, 2, 0)


def test_search_finds_products_by_tag_and_stripe_id(admin_client, booth, make_product):
    tee = make_product(store=booth, tags=["apparel", "organic"])
    mug = make_product(store=booth, tags=["kitchen"])

    def found(q):
        response = admin_client.get(CHANGELIST, {"q": q, "store__id__exact": booth.pk})
        return {p.pk for p in response.context["cl"].result_list}

    assert found("organic") == {tee.pk}
    assert found(mug.stripe_product_id) == {mug.pk}
    assert found(tee.payment_link_id) == {tee.pk}


def test_ledger_page_is_read_only(admin_client, booth, make_product):
    tee = make_product(store=booth, inventory=3)
    movement = StockMovement.objects.get(product=tee)

    listing = admin_client.get(reverse("admin:inventory_stockmovement_changelist"), {"reason": "initial"})
    assert movement in listing.context["cl"].result_list
    assert admin_client.get(reverse("admin:inventory_stockmovement_add")).status_code == 403
    change = admin_client.get(reverse("admin:inventory_stockmovement_change", args=[movement.pk]))
    assert change.status_code == 200 and not change.context["has_change_permission"]
    assert admin_client.post(reverse("admin:inventory_stockmovement_delete", args=[movement.pk])).status_code == 403


@pytest.mark.parametrize("model", ["inventory.reservation", "inventory.waitlistentry", "payments.order",
                                   "payments.checkout", "payments.stripecall", "payments.offlinestripeobject"])
def test_records_are_listed_but_not_added_by_hand(admin_client, model):
    app_label, model_name = model.split(".")

    assert admin_client.get(reverse(f"admin:{app_label}_{model_name}_changelist")).status_code == 200
    assert admin_client.get(reverse(f"admin:{app_label}_{model_name}_add")).status_code == 403


def test_stripe_calls_filter_by_mode_and_operation(admin_client, booth):
    offline = StripeCall.objects.create(mode="offline", operation="payment_link.update", target="plink_X")
    StripeCall.objects.create(mode="live", operation="refund.create", target="pi_X")

    response = admin_client.get(reverse("admin:payments_stripecall_changelist"),
                                {"mode__exact": "offline", "operation": "payment_link.update"})

    assert list(response.context["cl"].result_list) == [offline]
