"""Setting a store up from a Stripe account's catalogue (issue 11), twice over: against the Stripe fake
(the live gateway through the real SDK, every request checked against Stripe's API spec) and
against the offline gateway (the demo's Stripe), which take the same code path.

First run creates; second run changes nothing; product.updated / price.updated keep names,
pictures and prices in step through the durable intake; bad input stops naming the object and
writes nothing.
"""

import io
import time

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse

from inventory.models import CaptureMethod, Product, StockMovement, Store
from payments.catalogue.errors import CatalogueImportError
from payments.catalogue.imports import catalogue_import
from payments.gateway import GatewayUnavailable, get_gateway
from payments.gateway.live import LiveGateway
from payments.models import IntakeEvent, LinkSync, OfflineStripeObject, Order, StripeCall
from payments.offline.catalogue import offline_catalogue_put
from payments.offline.gateway import OfflineGateway
from tests.factories import product_create, store_create
from tests.fakes.stripe import event, shape
from tests.inventory.test_admin import messages_of

pytestmark = pytest.mark.django_db

WRITES = ("payment_link.create", "payment_link.update")


def tee(**changes) -> dict:
    return {"id": "prod_ImpTee", "name": "Logo tee", "description": "Organic cotton.",
            "images": ["https://files.stripe.com/links/tee.png"], "metadata": {"colour": "navy"},
            "prices": [{"id": f"price_ImpTee{size}", "unit_amount": 2500, "currency": "usd",
                        "metadata": {"size": size}} for size in ("S", "M", "L")], **changes}


def mug(**changes) -> dict:
    return {"id": "prod_ImpMug", "name": "Mug", "description": None, "images": [], "metadata": {},
            "prices": [{"id": "price_ImpMug", "unit_amount": 1800, "currency": "usd", "metadata": {}}], **changes}


class StripeAccount:
    """Where the test's catalogue lives: the Stripe fake, or the offline gateway's notebook."""

    def __init__(self, fake=None):
        self.fake = fake

    def put(self, catalogue: list[dict]) -> None:
        if self.fake is None:
            offline_catalogue_put(catalogue=catalogue)
            return
        for product in catalogue:
            self.fake.add_product(product["id"], name=product["name"], description=product.get("description"),
                                  images=product.get("images") or [], metadata=product.get("metadata") or {},
                                  active=product.get("active", True))
            for price in product["prices"]:
                self.fake.add_price(price["id"], product=product["id"], unit_amount=price["unit_amount"],
                                    currency=price.get("currency", "usd"), metadata=price.get("metadata") or {},
                                    active=price.get("active", True))

    def archive(self, product: dict, price_id: str) -> None:
        """Stripe's "archive price": it stays, but no longer active."""
        price = next(p for p in product["prices"] if p["id"] == price_id)
        self.put([{**product, "prices": [{**price, "active": False}]}])

    def links(self) -> list[dict]:
        if self.fake is None:
            return [row.data for row in OfflineStripeObject.objects.filter(object="payment_link")]
        return [link.to_dict() for link in self.fake.sdk_client().v1.payment_links.list({"limit": 100}).data]

    def link(self, link_id: str) -> dict:
        return next(link for link in self.links() if link["id"] == link_id)

    def fail(self, monkeypatch, operation: str, *, after: int = 0) -> None:
        """Stripe fails `operation` (a gateway method) from its call number `after` + 1 on."""
        gateway_class = type(get_gateway())
        real, calls = getattr(gateway_class, operation), []

        def failing(gateway, *args, **kwargs):
            calls.append(1)
            if len(calls) > after:
                if self.fake is None:
                    raise GatewayUnavailable("Stripe is having a moment")
                self.fake.fail_next(*FAKE_PATHS[operation], status=500)
            return real(gateway, *args, **kwargs)

        monkeypatch.setattr(gateway_class, operation, failing)


FAKE_PATHS = {"payment_link_create": ("POST", "/v1/payment_links"), "price_list": ("GET", "/v1/prices")}


@pytest.fixture(params=["stripe_fake", "offline"])
def account(request, settings):
    settings.SITE_URL = "https://shop.example.com"
    if request.param == "stripe_fake":
        return StripeAccount(request.getfixturevalue("stripe_fake"))
    request.getfixturevalue("stripe_offline")
    return StripeAccount()


@pytest.fixture
def store():
    s = store_create(name="Hall I")
    s.capture_method = CaptureMethod.MANUAL
    s.save()
    return s


def rows(store) -> dict[tuple[str, str], Product]:
    return {(p.stripe_product_id, p.size): p for p in Product.objects.filter(store=store)}


def writes() -> list[StripeCall]:
    return list(StripeCall.objects.filter(operation__in=WRITES).order_by("pk"))


def snapshot(store) -> list[tuple]:
    return list(Product.objects.filter(store=store).order_by("pk").values_list())


# ---- the first run creates, the second changes nothing ----

def test_first_run_creates_each_size_with_its_payment_link_and_stock(account, store):
    account.put([tee(), mug()])

    report = catalogue_import(store=store, initial_stock=4)

    found = rows(store)
    assert sorted(found) == [("prod_ImpMug", ""), ("prod_ImpTee", "L"), ("prod_ImpTee", "M"), ("prod_ImpTee", "S")]
    m = found[("prod_ImpTee", "M")]
    assert (m.name, m.description, m.image_url, m.unit_amount, m.currency) == (
        "Logo tee", "Organic cotton.", "https://files.stripe.com/links/tee.png", 2500, "usd")
    assert (m.stripe_price_id, m.colour, m.attributes) == ("price_ImpTeeM", "", {"colour": "navy"})
    assert found[("prod_ImpMug", "")].variant_label == ""  # one price: a product without variants
    assert m.inventory == 4
    assert list(StockMovement.objects.filter(product=m).values_list("reason", "delta", "source")) == [
        ("initial", 4, f"import:{store.pk}:price_ImpTeeM")]
    assert report.created == ["Mug", "Logo tee (L)", "Logo tee (M)", "Logo tee (S)"]
    assert report.links_created == 4

    # every variant has its own link, made as the issue asks
    create = StripeCall.objects.get(operation="payment_link.create", target="price_ImpTeeM")
    assert create.idempotency_key == f"plink:create:{store.pk}:price_ImpTeeM"
    params = create.params
    assert params["line_items"] == [{"price": "price_ImpTeeM", "quantity": 1,
                                     "adjustable_quantity": {"enabled": True, "minimum": 1, "maximum": 5}}]
    assert params["payment_intent_data"]["capture_method"] == "manual"
    assert params["restrictions"] == {"completed_sessions": {"limit": 4}}
    assert params["inactive_message"]
    thanks = "https://shop.example.com" + reverse("payments:thanks", args=[store.pk])
    assert params["after_completion"] == {"type": "redirect",
                                          "redirect": {"url": thanks + "?session_id={CHECKOUT_SESSION_ID}"}}
    assert params["metadata"] == {"store_id": store.pk, "product": "prod_ImpTee", "price": "price_ImpTeeM"}
    link = account.link(m.payment_link_id)
    assert m.payment_link_url == link["url"] and link["active"] is True
    assert link["metadata"] == params["metadata"] and link["payment_intent_data"]["capture_method"] == "manual"
    assert link["restrictions"]["completed_sessions"]["limit"] == 4
    # and follows stock from now on
    assert LinkSync.objects.filter(product=m).exists()


def test_second_run_changes_nothing(account, store):
    account.put([tee(), mug()])
    catalogue_import(store=store, initial_stock=4)
    before, calls, ledger = snapshot(store), len(writes()), StockMovement.objects.count()

    report = catalogue_import(store=store, initial_stock=4)

    assert not report.changed and report.unchanged == 4
    assert snapshot(store) == before
    assert len(writes()) == calls  # nothing written at Stripe either
    assert StockMovement.objects.count() == ledger


def test_a_new_size_in_stripe_comes_in_with_what_staff_gave_the_product(account, store):
    account.put([tee()])
    catalogue_import(store=store)
    Product.objects.filter(store=store).update(tags=["apparel"], low_stock_threshold=2)
    catalogue = tee()
    catalogue["prices"].append({"id": "price_ImpTeeXL", "unit_amount": 2700, "currency": "usd",
                                "metadata": {"size": "XL"}})
    account.put([catalogue])

    report = catalogue_import(store=store)

    xl = rows(store)[("prod_ImpTee", "XL")]
    assert report.created == ["Logo tee (XL)"] and report.links_created == 1
    assert (xl.unit_amount, xl.tags, xl.low_stock_threshold, xl.inventory) == (2700, ["apparel"], 2, 0)


def test_a_product_staff_typed_by_hand_is_taken_over_not_doubled(account, store):
    by_hand = product_create(store=store, name="mug", stripe_product_id="prod_ImpMug", stripe_price_id="",
                             inventory=7)
    account.put([mug()])

    catalogue_import(store=store)

    by_hand.refresh_from_db()
    assert (by_hand.name, by_hand.stripe_price_id, by_hand.inventory) == ("Mug", "price_ImpMug", 7)
    assert by_hand.payment_link_id.startswith("plink_T")  # the link staff typed is kept
    assert Product.objects.filter(store=store).count() == 1


def test_a_price_archived_for_a_new_one_gets_a_new_link_and_the_old_is_switched_off(account, store):
    account.put([mug()])
    catalogue_import(store=store, initial_stock=3)
    old = rows(store)[("prod_ImpMug", "")]
    account.archive(mug(), "price_ImpMug")
    account.put([mug(prices=[{"id": "price_ImpMug2", "unit_amount": 2000, "currency": "usd", "metadata": {}}])])

    report = catalogue_import(store=store)

    new = rows(store)[("prod_ImpMug", "")]
    assert (new.pk, new.inventory, new.stripe_price_id, new.unit_amount) == (old.pk, 3, "price_ImpMug2", 2000)
    assert new.payment_link_id != old.payment_link_id
    assert account.link(old.payment_link_id)["active"] is False
    assert report.links_retired == [old.payment_link_id]


# ---- names, pictures and prices kept in step by webhooks ----

def deliver(webhook, client, obj: dict, event_id: str, created: int):
    return webhook.post(client, event(f"{obj['object']}.updated", obj, id=event_id, created=created))


@pytest.mark.django_db(transaction=True)
def test_product_updated_renames_every_size_in_every_store_without_calling_stripe(account, store, webhook,
                                                                                   client):
    account.put([tee()])
    catalogue_import(store=store)
    catalogue_import(store=store_create(name="Hall J"))
    calls = StripeCall.objects.count()
    product = shape("product", id="prod_ImpTee", name="Festival tee", description="Now in navy.",
                    images=["https://files.stripe.com/links/tee2.png"], metadata={"colour": "navy"})

    response = deliver(webhook, client, product, "evt_rename_1", int(time.time()) + 5)

    assert response.status_code == 200
    intake = IntakeEvent.objects.get(event_id="evt_rename_1")
    assert (intake.kind, intake.state) == (IntakeEvent.Kind.CATALOGUE, IntakeEvent.State.DONE)
    assert set(Product.objects.filter(stripe_product_id="prod_ImpTee").values_list(
        "name", "description", "image_url")) == {("Festival tee", "Now in navy.", "https://files.stripe.com/links/tee2.png")}
    assert StripeCall.objects.count() == calls  # no Stripe call, in the request or after

    # an older event delivered late does not undo it
    stale = {**product, "name": "Old name"}
    assert deliver(webhook, client, stale, "evt_rename_0", int(time.time()) - 3600).status_code == 200
    assert set(Product.objects.filter(stripe_product_id="prod_ImpTee").values_list("name", flat=True)) == {
        "Festival tee"}


@pytest.mark.django_db(transaction=True)
def test_price_updated_relabels_a_size_and_a_clash_fails_alone(account, store, webhook, client):
    account.put([tee()])
    catalogue_import(store=store)
    price = shape("price", id="price_ImpTeeL", product="prod_ImpTee", unit_amount=2500, currency="usd",
                  metadata={"size": "Large"}, billing_scheme="per_unit", type="one_time", recurring=None)
    assert deliver(webhook, client, price, "evt_relabel", int(time.time()) + 5).status_code == 200
    assert Product.objects.get(store=store, stripe_price_id="price_ImpTeeL").size == "Large"

    clash = {**price, "id": "price_ImpTeeS", "metadata": {"size": "M"}}
    assert deliver(webhook, client, clash, "evt_clash", int(time.time()) + 6).status_code == 200
    intake = IntakeEvent.objects.get(event_id="evt_clash")
    assert intake.state == IntakeEvent.State.FAILED and "not applied" in intake.last_error
    assert Product.objects.get(store=store, stripe_price_id="price_ImpTeeS").size == "S"


def test_only_https_pictures_are_stored_the_others_named_in_the_report(account, store):
    bad = ["javascript:alert(1)", "data:image/svg+xml;base64,PHN2Zz4=", "http://169.254.169.254/latest/meta-data/"]
    account.put([tee(images=bad), mug(images=[*bad[:1], "https://files.stripe.com/links/mug.png"])])

    report = catalogue_import(store=store)

    assert {p.stripe_product_id: p.image_url for p in Product.objects.filter(store=store)} == {
        "prod_ImpTee": "", "prod_ImpMug": "https://files.stripe.com/links/mug.png"}
    dropped = [line for line in report.lines() if "left out: only https: pictures" in line]
    assert len(dropped) == 4 and any("169.254.169.254" in line for line in dropped)


@pytest.mark.django_db(transaction=True)
def test_a_product_updated_with_a_script_picture_stores_none(account, store, webhook, client):
    account.put([tee()])
    catalogue_import(store=store)
    product = shape("product", id="prod_ImpTee", name="Logo tee", description="", metadata={},
                    images=["javascript:alert(document.cookie)"])

    assert deliver(webhook, client, product, "evt_script_picture", int(time.time()) + 5).status_code == 200

    assert set(Product.objects.filter(stripe_product_id="prod_ImpTee").values_list("image_url", flat=True)) == {""}


@pytest.mark.django_db(transaction=True)
def test_price_updated_with_another_amount_is_ignored_and_staff_told(account, store, webhook, client, caplog):
    account.put([tee()])
    catalogue_import(store=store)
    price = shape("price", id="price_ImpTeeM", product="prod_ImpTee", unit_amount=1, currency="usd",
                  metadata={"size": "M"}, billing_scheme="per_unit", type="one_time", recurring=None)

    assert deliver(webhook, client, price, "evt_one_cent", int(time.time()) + 5).status_code == 200

    assert Product.objects.get(store=store, stripe_price_id="price_ImpTeeM").unit_amount == 2500
    intake = IntakeEvent.objects.get(event_id="evt_one_cent")
    assert intake.state == IntakeEvent.State.FAILED and "never change amount" in intake.last_error  # staff see it
    assert any(r.levelname == "ERROR" and "price_ImpTeeM" in r.getMessage() for r in caplog.records)


# ---- bad input stops, names the object, writes nothing ----

@pytest.mark.parametrize("catalogue, message", [
    ([tee(), mug(prices=[])], r"Product prod_ImpMug \(Mug\) has no active one-time price"),
    ([tee(), mug(prices=[{"id": "price_ImpMugEur", "unit_amount": 1800, "currency": "eur", "metadata": {}}])],
     r"price price_ImpMugEur is in EUR, but store_\w+ sells in USD"),
    ([tee(prices=[{"id": "price_A", "unit_amount": 2500, "currency": "usd", "metadata": {"size": "M"}},
                  {"id": "price_B", "unit_amount": 2500, "currency": "usd", "metadata": {"size": "M"}}])],
     r"prices price_A and price_B would be the same variant \(M, navy\)"),
    ([tee(prices=[{"id": "price_PayWhat", "unit_amount": None, "currency": "usd", "metadata": {}}])],
     r"price price_PayWhat has no fixed unit amount"),
])
def test_bad_catalogue_stops_naming_the_object_and_writes_nothing(account, store, catalogue, message):
    account.put(catalogue)

    with pytest.raises(CatalogueImportError, match=message):
        catalogue_import(store=store)

    assert not Product.objects.filter(store=store).exists()
    assert writes() == []


def test_stripe_failing_half_way_writes_nothing_and_the_next_run_makes_no_second_link(account, store):
    account.put([tee()])
    with pytest.MonkeyPatch.context() as patch:
        account.fail(patch, "payment_link_create", after=1)
        with pytest.raises(CatalogueImportError, match=r"creating the Payment Link of Logo tee \(M, price_ImpTeeM\)"):
            catalogue_import(store=store)
    assert not Product.objects.filter(store=store).exists()
    assert len(account.links()) == 1  # made at Stripe before the failure

    report = catalogue_import(store=store)

    assert len(rows(store)) == 3
    assert report.links_created == 2  # the first run's link was found by its metadata, not made again
    assert len(account.links()) == 3
    assert {p.payment_link_id for p in rows(store).values()} == {link["id"] for link in account.links()}


def test_stripe_failing_to_list_says_so(account, store, monkeypatch):
    account.put([tee()])
    account.fail(monkeypatch, "price_list")

    with pytest.raises(CatalogueImportError, match="Stripe failed while listing the prices"):
        catalogue_import(store=store)
    assert not Product.objects.filter(store=store).exists()


def test_a_catalogue_of_many_products_is_read_page_by_page(stripe_fake, store):
    for n in range(101):
        stripe_fake.add_price(f"price_Many{n}", product=f"prod_Many{n:03d}", unit_amount=500)

    report = catalogue_import(store=store)

    assert len(report.created) == 101
    pages = stripe_fake.calls("GET", "/v1/products")
    assert [bool(c["params"].get("starting_after")) for c in pages] == [False, True]
    assert all((c["params"]["limit"], c["params"]["active"]) == ("100", "true") for c in pages)  # as sent
    assert StripeCall.objects.filter(operation="product.list").count() == 2  # each page a call in the budget


# ---- the two ways staff run it: a command, an admin action ----

def test_command_opens_the_store_and_imports_then_nothing_the_second_time(account):
    account.put([tee(), mug()])
    out = io.StringIO()

    call_command("import_stripe_catalogue", "store_HallImp", "--name", "Hall Imp", "--stock", "2",
                 "--product", "prod_ImpTee", stdout=out)

    store = Store.objects.get(pk="store_HallImp")
    assert store.name == "Hall Imp"
    assert sorted(p.size for p in Product.objects.filter(store=store)) == ["L", "M", "S"]
    assert "3 variants created" in out.getvalue()
    out = io.StringIO()
    call_command("import_stripe_catalogue", "store_HallImp", "--product", "prod_ImpTee", stdout=out)
    assert "nothing changed" in out.getvalue()


def test_command_stops_with_the_reason(account):
    account.put([mug(prices=[])])
    with pytest.raises(CommandError, match=r"no product of store_HallBad was changed: Product prod_ImpMug"):
        call_command("import_stripe_catalogue", "store_HallBad", stdout=io.StringIO())
    with pytest.raises(CommandError, match="Store ids look like"):
        call_command("import_stripe_catalogue", "not-a-store", stdout=io.StringIO())


def test_admin_action_imports_into_the_selected_store(account, admin_client, store):
    account.put([tee()])
    changelist = reverse("admin:inventory_store_changelist")

    response = admin_client.post(changelist, {"action": "import_from_stripe", "index": "0", "select_across": "0",
                                              "_selected_action": [store.pk]}, follow=True)

    assert any("3 variants created" in m for m in messages_of(response))
    assert len(rows(store)) == 3


def test_thank_you_page_tells_what_became_of_the_purchase(client, store):
    Order.objects.create(checkout_session_id="cs_test_thanks", store=store, status=Order.Status.FULFILLED)
    url = reverse("payments:thanks", args=[store.pk])

    assert "Your purchase is confirmed" in client.get(url, {"session_id": "cs_test_thanks"}).content.decode()
    assert "your receipt appears here in a moment" in client.get(url, {"session_id": "cs_unknown"}).content.decode()


def test_the_live_and_offline_gateways_offer_the_same_catalogue_calls():
    for name in ("product_list", "price_list", "payment_link_list", "payment_link_create"):
        assert callable(getattr(LiveGateway, name)) and callable(getattr(OfflineGateway, name))
