"""Checkout Sessions at the fake (hold stock, then one session per buyer), prices and products."""

import time

import pytest
import stripe

from tests.fakes.stripe import events, shape


@pytest.fixture
def tee(fake):
    fake.add_product("prod_tee", name="Logo tee")
    return fake.add_price("price_tee", product="prod_tee", unit_amount=2500)


def session_params(**overrides) -> dict:
    return {"mode": "payment", "line_items": [{"price": "price_tee", "quantity": 2}],
            "expires_at": int(time.time()) + 31 * 60, "success_url": "https://shop.example/paid",
            "cancel_url": "https://shop.example/back", "client_reference_id": "hold-7",
            "metadata": {"hold": "7", "store": "store_A"},
            "payment_intent_data": {"capture_method": "manual", "metadata": {"hold": "7"}}, **overrides}


def test_create_answers_an_open_session_to_pay_at(client, tee):
    params = session_params()
    session = client.v1.checkout.sessions.create(params)

    assert set(session.to_dict()) == set(shape("checkout.session"))
    assert session.id.startswith("cs_test_") and session.object == "checkout.session"
    assert (session.status, session.payment_status, session.payment_intent) == ("open", "unpaid", None)
    assert session.url == f"https://checkout.stripe.com/c/pay/{session.id}"
    assert (session.amount_subtotal, session.amount_total, session.currency) == (5000, 5000, "usd")
    assert (session.client_reference_id, session.success_url, session.cancel_url) == (
        "hold-7", "https://shop.example/paid", "https://shop.example/back")
    assert session.metadata.to_dict() == {"hold": "7", "store": "store_A"}
    assert session.expires_at == params["expires_at"]

    again = client.v1.checkout.sessions.retrieve(session.id, {"expand": ["line_items"]})
    [item] = again.line_items.data
    assert (item.price.id, item.quantity, item.amount_total, item.description) == ("price_tee", 2, 5000, "Logo tee")
    listed = client.v1.checkout.sessions.line_items.list(session.id, {"expand": ["data.price.product"]})
    assert listed.data[0].price.product.name == "Logo tee"


def test_price_data_instead_of_a_price(client):
    session = client.v1.checkout.sessions.create({"mode": "payment", "line_items": [{
        "price_data": {"currency": "eur", "unit_amount": 700, "product_data": {"name": "Enamel pin"}},
        "quantity": 3}]})
    assert (session.amount_total, session.currency) == (2100, "eur")
    assert client.v1.checkout.sessions.line_items.list(session.id).data[0].description == "Enamel pin"


@pytest.mark.parametrize("minutes, says", [(29, "at least 30 minutes"), (-5, "at least 30 minutes"),
                                           (24 * 60 + 1, "less than 24 hours")])
def test_expires_at_must_be_30_minutes_to_24_hours_ahead(fake, client, tee, minutes, says):
    with pytest.raises(stripe.InvalidRequestError) as error:
        client.v1.checkout.sessions.create(session_params(expires_at=int(time.time()) + minutes * 60))
    assert (error.value.http_status, error.value.param) == (400, "expires_at")
    assert error.value.json_body["error"]["type"] == "invalid_request_error" and says in str(error.value)
    assert fake.calls("POST", "/v1/checkout/sessions")[-1]["status"] == 400
    assert fake.violations == []  # a rule of Stripe's, not of its spec


def test_an_unknown_price_or_a_missing_quantity(client, tee):
    with pytest.raises(stripe.InvalidRequestError) as error:
        client.v1.checkout.sessions.create(session_params(line_items=[{"price": "price_gone", "quantity": 1}]))
    assert (error.value.code, error.value.param) == ("resource_missing", "line_items[0][price]")
    with pytest.raises(stripe.InvalidRequestError) as error:
        client.v1.checkout.sessions.create(session_params(line_items=[{"price": "price_tee"}]))
    assert (error.value.code, error.value.param) == ("parameter_missing", "line_items[0][quantity]")


def test_expire_an_open_session_then_not_again(client, tee):
    session = client.v1.checkout.sessions.create(session_params())
    expired = client.v1.checkout.sessions.expire(session.id)
    assert (expired.status, expired.url) == ("expired", None)
    with pytest.raises(stripe.InvalidRequestError) as error:
        client.v1.checkout.sessions.expire(session.id)
    assert error.value.http_status == 400
    assert str(error.value.user_message) == ('Only Checkout Sessions with a status in ["open"] can be expired. '
                                             "This Checkout Session has a status of `expired`.")


@pytest.mark.parametrize("capture, intent_status, payment_status", [
    ("manual", "requires_capture", "unpaid"), ("automatic", "succeeded", "paid")])
def test_the_buyer_pays(fake, client, tee, capture, intent_status, payment_status):
    session = client.v1.checkout.sessions.create(
        session_params(payment_intent_data={"capture_method": capture, "metadata": {"hold": "7"}}))

    completed = fake.complete_session(session.id)

    assert (completed["status"], completed["payment_status"], completed["url"]) == ("complete", payment_status, None)
    intent = client.v1.payment_intents.retrieve(completed["payment_intent"])
    assert (intent.status, intent.amount, intent.capture_method) == (intent_status, 5000, capture)
    assert intent.metadata.to_dict() == {"hold": "7"}
    assert client.v1.checkout.sessions.retrieve(session.id).status == "complete"
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.checkout.sessions.expire(session.id)
    event = events.event("checkout.session.completed", completed)
    assert event["data"]["object"]["id"] == session.id and event["type"] == "checkout.session.completed"


def test_complete_session_may_choose_the_capture_and_counts_against_a_link(fake, tee):
    fake.add_payment_link("plink_tee", price="price_tee", limit=5, completed_count=1)
    session = fake.add_checkout_session("cs_test_link", payment_intent=None, payment_link="plink_tee", status="open",
                                        payment_status="unpaid", line_items=[
                                            {"price": "price_tee", "product": "prod_tee", "quantity": 1,
                                             "unit_amount": 2500}])
    assert session["url"] == "https://checkout.stripe.com/c/pay/cs_test_link"
    completed = fake.complete_session("cs_test_link", capture_method="manual")
    assert fake.get("payment_intent", completed["payment_intent"])["status"] == "requires_capture"
    assert fake.get("payment_link", "plink_tee")["restrictions"]["completed_sessions"] == {"count": 2, "limit": 5}
    with pytest.raises(ValueError, match="it is complete"):
        fake.complete_session("cs_test_link")


def test_stripe_side_expiry(fake, client, tee):
    session = client.v1.checkout.sessions.create(session_params())
    assert fake.expire_session(session.id)["status"] == "expired"
    assert client.v1.checkout.sessions.retrieve(session.id).status == "expired"
    with pytest.raises(ValueError, match="it is expired"):
        fake.complete_session(session.id)


def test_a_session_past_its_expires_at_reads_expired(fake, client, tee):
    session = client.v1.checkout.sessions.create(session_params())
    with fake._lock:
        fake._objects["checkout.session"][session.id]["expires_at"] = int(time.time()) - 1
    assert client.v1.checkout.sessions.retrieve(session.id).status == "expired"


def test_prices_and_products_through_the_api(client):
    price = client.v1.prices.create({"currency": "usd", "unit_amount": 1500, "product_data": {"name": "Camp mug"}})
    assert (price.type, price.recurring, price.unit_amount) == ("one_time", None, 1500)
    product = client.v1.products.retrieve(price.product)
    assert product.name == "Camp mug"
    assert [p.id for p in client.v1.prices.list({"product": product.id})] == [price.id]
    cap = client.v1.products.create({"name": "Cap", "default_price_data": {"currency": "usd", "unit_amount": 900}})
    assert client.v1.prices.retrieve(cap.default_price).unit_amount == 900
    assert {p.id for p in client.v1.products.list()} == {product.id, cap.id}

    link = client.v1.payment_links.create({"line_items": [{"price": price.id, "quantity": 2}]})
    [item] = client.v1.payment_links.line_items.list(link.id).data
    assert (item.price.id, item.quantity, item.amount_total, item.description) == (price.id, 2, 3000, "Camp mug")
    with pytest.raises(stripe.InvalidRequestError) as error:
        client.v1.payment_links.create({"line_items": [{"price": "price_gone", "quantity": 1}]})
    assert (error.value.code, error.value.param) == ("resource_missing", "line_items[0][price]")
