"""The JSON API at /api/: every endpoint's answer and each class of refusal, on the real database."""

import json
import uuid

import pytest
from django.test import Client

from inventory.models import Product, Reservation, WaitlistEntry
from inventory.services import stock_decrease
from payments.models import Checkout, StripeCall

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("stripe_offline")]

CREATE_INTENT = "/v1/payment_intents"


@pytest.fixture
def hall_a(make_store):
    return make_store(name="Hall A")


@pytest.fixture
def hoodie(hall_a, make_product):
    return make_product(store=hall_a, name="Hoodie", inventory=2, stripe_product_id="prod_Hoodie",
                        unit_amount=4000)


def post(client, url: str, body) -> tuple[int, dict]:
    data = body if isinstance(body, (str, bytes)) else json.dumps(body)
    response = client.post(url, data=data, content_type="application/json")
    return response.status_code, response.json()


def nothing_held() -> bool:
    return not Reservation.objects.exists() and not Checkout.objects.exists()


# --- POST /api/stock-check ------------------------------------------------------------------------

def test_stock_check_says_yes_with_what_is_available(client, hoodie):
    status, body = post(client, "/api/stock-check", {"store": hoodie.store_id, "product": "prod_Hoodie",
                                                     "quantity": 2})
    assert status == 200
    assert body == {"store": hoodie.store_id, "product": "prod_Hoodie", "price": hoodie.stripe_price_id, "size": "",
                    "colour": "", "name": "Hoodie", "requested": 2, "available": 2, "ok": True}


def test_stock_check_409_names_what_is_left_and_other_stores_that_have_it(client, hoodie, make_store, make_product):
    # given: two other stores stock the same Stripe product, one of them has none left
    hall_b = make_store(name="Hall B")
    make_product(store=hall_b, name="Hoodie", inventory=5, stripe_product_id="prod_Hoodie")
    make_product(store=make_store(name="Hall C"), name="Hoodie", inventory=0,
                 stripe_product_id="prod_Hoodie")
    # when
    status, body = post(client, "/api/stock-check", {"store": hoodie.store_id, "product": "prod_Hoodie",
                                                     "quantity": 3})
    # then
    assert status == 409
    assert body["detail"] == "Only 2 left of Hoodie in Hall A"
    assert body["available"] == 2 and body["ok"] is False
    assert body["alternatives"] == [{"store": hall_b.id, "store_name": "Hall B", "available": 5}]
    assert body["waitlist"] == "/api/waitlist"


def test_stock_check_takes_a_whole_number_written_as_a_decimal(client, hoodie):
    # JSON has one number type; JSON Schema (and so our OpenAPI schema) counts 2.0 as an integer.
    status, body = post(client, "/api/stock-check", {"store": hoodie.store_id, "product": "prod_Hoodie",
                                                     "quantity": 2.0})
    assert (status, body["requested"]) == (200, 2)


def test_stock_check_counts_units_held_by_checkouts(client, hoodie):
    assert post(client, "/api/checkouts", {"store": hoodie.store_id,
                                           "lines": [{"product": "prod_Hoodie", "quantity": 2}]})[0] == 201
    status, body = post(client, "/api/stock-check", {"store": hoodie.store_id, "product": "prod_Hoodie",
                                                     "quantity": 1})
    assert (status, body["available"], body["detail"]) == (409, 0, "Hoodie is sold out in Hall A")


@pytest.mark.parametrize("store, product, expected", [
    ("store_Nowhere", "prod_Hoodie", "No store store_Nowhere."),
    (None, "prod_Nope", "does not stock prod_Nope."),
])
def test_stock_check_404_for_unknown_store_or_product(client, hoodie, store, product, expected):
    status, body = post(client, "/api/stock-check", {"store": store or hoodie.store_id, "product": product,
                                                     "quantity": 1})
    assert status == 404
    assert body["detail"].endswith(expected)


@pytest.mark.parametrize("body, expected", [
    ({"quantity": 0}, "quantity: must be a whole number from 1 to 1000"),
    ({"quantity": -3}, "quantity: must be a whole number from 1 to 1000"),
    ({"quantity": 1001}, "quantity: must be a whole number from 1 to 1000"),
    ({"quantity": 1.5}, "quantity: must be a whole number (a JSON number like 2"),
    ({"quantity": "2"}, "quantity: must be a whole number (a JSON number like 2"),
    ({"quantity": True}, "quantity: must be a whole number (a JSON number like 2"),
    ({"quantity": None}, "quantity: must be a whole number (a JSON number like 2"),
    ({"quantity": [1]}, "quantity: must be a whole number (a JSON number like 2"),
    ({"store": 7}, "store: must be a string"),
    ({"store": "Hall A"}, "store: must be a store id like store_XYZ789"),
    ({"product": "prod\x00x"}, "product: must be a Stripe product id"),
    ({"product": "p" * 65}, "product: must be at most 64 characters"),
    ({"product": ""}, "product: must not be empty"),
    ({"colour": "red"}, "colour: is not a field this endpoint knows"),
])
def test_stock_check_400_explains_bad_fields(client, hoodie, body, expected):
    valid = {"store": hoodie.store_id, "product": "prod_Hoodie", "quantity": 1}
    status, answer = post(client, "/api/stock-check", {**valid, **body})
    assert status == 400
    assert answer["detail"].startswith(expected)


@pytest.mark.parametrize("body, expected", [
    ({"store": "store_X", "product": "prod_X"}, "quantity: is required"),
    ("{not json", "The request body must be valid JSON."),
    ("", "The request body must be a JSON object."),
    ("[1, 2]", "The request body must be a JSON object."),
    ('"store_X"', "The request body must be a JSON object."),
    ("null", "The request body must be a JSON object."),
    (b"\xff\xfe\x00", "The request body must be valid JSON."),
])
def test_stock_check_400_for_missing_fields_and_bodies_that_are_not_objects(client, body, expected):
    status, answer = post(client, "/api/stock-check", body)
    assert (status, answer["detail"]) == (400, expected)


# --- POST /api/checkouts ----------------------------------------------------------------------------

def test_checkout_holds_the_units_and_opens_a_payment(client, hoodie):
    status, body = post(client, "/api/checkouts", {"store": hoodie.store_id, "email": "buyer@example.com",
                                                   "lines": [{"product": "prod_Hoodie", "quantity": 2}]})
    assert status == 201
    checkout = Checkout.objects.get(pk=body["checkout"])
    assert body == {"checkout": str(checkout.pk), "status": "reserved", "amount": 8000, "currency": "usd",
                    "expires_at": checkout.expires_at.isoformat(), "client_secret": checkout.client_secret,
                    "payment_intent": checkout.payment_intent_id,
                    "checkout_url": f"http://testserver/checkout/{checkout.pk}/"}
    assert checkout.client_secret and checkout.payment_intent_id.startswith("pi_offline_")
    assert checkout.email == "buyer@example.com"
    reservation = Reservation.objects.get(hold_ref=str(checkout.pk))
    assert (reservation.product_id, reservation.quantity, reservation.state) == (hoodie.pk, 2, "held")
    hoodie = Product.objects.with_availability().get(pk=hoodie.pk)
    assert (hoodie.inventory, hoodie.available) == (2, 0)


def test_checkout_answers_location_of_its_page(client, hoodie):
    response = client.post("/api/checkouts", data={"store": hoodie.store_id,
                                                   "lines": [{"product": "prod_Hoodie", "quantity": 1}]},
                           content_type="application/json")
    assert response["Location"] == response.json()["checkout_url"]
    assert client.get(response["Location"]).status_code == 200


def test_checkout_409_names_each_short_line_and_holds_nothing(client, hall_a, hoodie, make_product):
    # given: a hoodie (2 left), a cap (0 left) and a mug (plenty)
    cap = make_product(store=hall_a, name="Cap", inventory=0, stripe_product_id="prod_Cap")
    make_product(store=hall_a, name="Mug", inventory=50, stripe_product_id="prod_Mug")
    # when
    status, body = post(client, "/api/checkouts", {"store": hall_a.id, "lines": [
        {"product": "prod_Hoodie", "quantity": 3}, {"product": "prod_Mug", "quantity": 1},
        {"product": "prod_Cap", "quantity": 1}]})
    # then
    assert status == 409
    assert sorted(body["shortfalls"], key=lambda x: x["product"]) == [
        {"product": "prod_Cap", "price": cap.stripe_price_id, "name": "Cap", "requested": 1, "available": 0},
        {"product": "prod_Hoodie", "price": hoodie.stripe_price_id, "name": "Hoodie", "requested": 3, "available": 2},
    ]
    assert "Only 2 left of Hoodie in Hall A" in body["detail"]
    assert "Cap is sold out in Hall A" in body["detail"]
    assert "Mug" not in body["detail"]
    assert nothing_held()
    assert not StripeCall.objects.filter(operation="payment_intent.create").exists()


def test_checkout_404_when_any_line_is_not_stocked_here_and_holds_nothing(client, hall_a, hoodie, make_store,
                                                                          make_product):
    make_product(store=make_store(name="Hall B"), stripe_product_id="prod_Elsewhere")
    status, body = post(client, "/api/checkouts", {"store": hall_a.id, "lines": [
        {"product": "prod_Hoodie", "quantity": 1}, {"product": "prod_Elsewhere", "quantity": 1}]})
    assert (status, body["detail"]) == (404, f"{hall_a.id} does not stock prod_Elsewhere.")
    assert nothing_held()
    status, body = post(client, "/api/checkouts", {"store": "store_Gone", "lines": [
        {"product": "prod_Hoodie", "quantity": 1}]})
    assert (status, body["detail"]) == (404, "No store store_Gone.")


@pytest.mark.parametrize("body, expected", [
    ({"lines": []}, "lines: needs 1 to 20 lines"),
    ({"lines": [{"product": "prod_Hoodie", "quantity": 1}] * 21}, "lines: needs 1 to 20 lines"),
    ({"lines": {"product": "prod_Hoodie", "quantity": 1}}, "lines: must be a list"),
    ({"lines": [{"product": "prod_Hoodie", "quantity": 0}]}, "lines[0].quantity: must be a whole number from 1"),
    ({"lines": [{"product": "prod_Hoodie"}]}, "lines[0].quantity: is required"),
    ({"lines": ["prod_Hoodie"]}, "lines[0]: must be an object"),
    ({"email": "not-an-address"}, "email: must be a valid e-mail address"),
    ({"email": 5}, "email: must be a string"),
])
def test_checkout_400_explains_bad_fields_and_holds_nothing(client, hoodie, body, expected):
    valid = {"store": hoodie.store_id, "lines": [{"product": "prod_Hoodie", "quantity": 1}]}
    status, answer = post(client, "/api/checkouts", {**valid, **body})
    assert status == 400
    assert answer["detail"].startswith(expected)
    assert nothing_held()


def test_checkout_400_for_lines_in_two_currencies(client, hall_a, hoodie, make_product):
    make_product(store=hall_a, name="Pin", stripe_product_id="prod_PinEur", currency="eur")
    status, body = post(client, "/api/checkouts", {"store": hall_a.id, "lines": [
        {"product": "prod_Hoodie", "quantity": 1}, {"product": "prod_PinEur", "quantity": 1}]})
    assert status == 400
    assert "one currency" in body["detail"]
    assert nothing_held()


def test_checkout_400_for_a_product_without_a_price(client, hall_a, make_product):
    make_product(store=hall_a, name="Free pen", stripe_product_id="prod_Pen", unit_amount=0)
    status, body = post(client, "/api/checkouts", {"store": hall_a.id, "lines": [{"product": "prod_Pen",
                                                                                  "quantity": 1}]})
    assert status == 400
    assert "Free pen" in body["detail"]
    assert nothing_held()


def test_checkout_creates_a_manual_capture_intent_at_stripe_with_key_and_metadata(client, stripe_fake, hoodie):
    status, body = post(client, "/api/checkouts", {"store": hoodie.store_id,
                                                   "lines": [{"product": "prod_Hoodie", "quantity": 2}]})
    assert status == 201
    (create,) = stripe_fake.calls("POST", CREATE_INTENT)
    assert create["status"] == 200 and not create["replayed"]
    assert create["params"]["capture_method"] == "manual"
    assert create["idempotency_key"] == f"checkout:{body['checkout']}"
    assert create["params"]["metadata"] == {"checkout": body["checkout"], "store": hoodie.store_id,
                                            "product": "prod_Hoodie", "quantity": "2",
                                            "lines": "prod_Hoodiex2"}
    intent = stripe_fake.sdk_client().v1.payment_intents.retrieve(body["payment_intent"])
    assert (intent.capture_method, intent.amount, intent.status) == ("manual", 8000, "requires_payment_method")
    assert body["client_secret"] == intent.client_secret


@pytest.mark.parametrize("stripe_status, says", [
    (400, "The payment provider refused to start this payment"),
    (500, "The payment provider could not be reached"),
])
def test_checkout_503_when_stripe_fails_and_the_hold_is_released(client, stripe_fake, hoodie, stripe_status, says):
    stripe_fake.fail_next("POST", CREATE_INTENT, status=stripe_status, message="Amount too small")
    status, body = post(client, "/api/checkouts", {"store": hoodie.store_id,
                                                   "lines": [{"product": "prod_Hoodie", "quantity": 2}]})
    assert status == 503
    assert body["detail"].startswith(says)
    assert "nothing was charged and nothing is held" in body["detail"]
    hoodie = Product.objects.with_availability().get(pk=hoodie.pk)
    assert hoodie.available == 2
    assert not Reservation.objects.filter(state="held").exists()
    assert Checkout.objects.get().status == Checkout.Status.FAILED


# --- GET /api/checkouts/<id> -------------------------------------------------------------------------

def test_checkout_status_reads_the_current_status(client, hoodie):
    _, created = post(client, "/api/checkouts", {"store": hoodie.store_id,
                                                 "lines": [{"product": "prod_Hoodie", "quantity": 1}]})
    response = client.get(f"/api/checkouts/{created['checkout']}")
    assert response.status_code == 200
    body = response.json()
    assert (body["checkout"], body["status"], body["status_text"]) == (
        created["checkout"], "reserved", "Units held, awaiting payment")
    assert body["expires_at"] == created["expires_at"]
    assert body["checkout_url"] == created["checkout_url"]


@pytest.mark.parametrize("checkout_id", [str(uuid.uuid4()), "not-a-uuid", "1234"])
def test_checkout_status_404_for_unknown_or_malformed_ids(client, checkout_id):
    response = client.get(f"/api/checkouts/{checkout_id}")
    assert response.status_code == 404
    assert response.json() == {"detail": "No such checkout."}


# --- POST /api/waitlist ------------------------------------------------------------------------------

def test_waitlist_join_answers_202_alike_for_a_new_and_a_known_address(client, hoodie):
    stock_decrease(product=hoodie, quantity=hoodie.inventory, source="test-sold-out")
    body = {"store": hoodie.store_id, "product": "prod_Hoodie", "email": "Fan@Example.com"}
    status, first = post(client, "/api/waitlist", body)
    assert (status, first["email"]) == (202, "fan@example.com")
    assert "Hoodie" in first["detail"]
    status, again = post(client, "/api/waitlist", {**body, "email": "fan@example.com"})
    assert (status, again) == (202, first)
    assert WaitlistEntry.objects.filter(product=hoodie).count() == 1


@pytest.mark.parametrize("email", ["nope", "a@b", "", "x" * 250 + "@example.com"])
def test_waitlist_400_for_an_invalid_email(client, hoodie, email):
    status, body = post(client, "/api/waitlist", {"store": hoodie.store_id, "product": "prod_Hoodie",
                                                  "email": email})
    assert status == 400
    assert body["detail"].startswith("email: ")
    assert not WaitlistEntry.objects.exists()


def test_waitlist_404_for_an_unknown_product(client, hoodie):
    status, body = post(client, "/api/waitlist", {"store": hoodie.store_id, "product": "prod_Nope",
                                                  "email": "fan@example.com"})
    assert (status, body["detail"]) == (404, f"{hoodie.store_id} does not stock prod_Nope.")


# --- Schema and docs -----------------------------------------------------------------------------------

def test_openapi_schema_and_docs_are_served(client):
    schema = client.get("/api/openapi.json").json()
    assert {"/api/stock-check", "/api/checkouts", "/api/checkouts/{checkout_id}", "/api/waitlist"} <= set(
        schema["paths"])
    assert set(schema["paths"]["/api/checkouts"]["post"]["responses"]) >= {"201", "400", "404", "409", "503"}
    assert client.get("/api/docs").status_code == 200


def test_one_buyer_cannot_hold_more_than_its_share(client, hall_a, settings, make_product):
    settings.CHECKOUT_MAX_OPEN_PER_BUYER = 2
    make_product(store=hall_a, name="Sticker", inventory=50, stripe_product_id="prod_Sticker")
    body = {"store": hall_a.id, "lines": [{"product": "prod_Sticker", "quantity": 1}]}
    assert [post(client, "/api/checkouts", body)[0] for _ in range(2)] == [201, 201]

    status, answer = post(client, "/api/checkouts", body)
    assert status == 429 and "already have 2 checkouts" in answer["detail"]
    assert Checkout.objects.count() == 2 and Reservation.objects.count() == 2

    other = Client().post("/api/checkouts", data=json.dumps(body), content_type="application/json")
    assert other.status_code == 201  # another buyer (browser) is not affected
