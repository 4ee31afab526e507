"""The Stripe fake's server side (objects, faults, idempotency, the request log), exercised through
the real stripe SDK (no Django needed)."""

import json
import time

import pytest
import stripe

from tests.fakes.stripe import shape
from tests.fakes.stripe.forms import decode_params
from tests.fakes.stripe.pacing import pace

ITEMS = [
    {"price": "price_mug", "product": "prod_mug", "quantity": 2, "unit_amount": 1200},
    {"price": "price_tee", "product": "prod_tee", "quantity": 1, "unit_amount": 2500},
    {"price": "price_cap", "product": "prod_cap", "quantity": 3, "unit_amount": 900},
]


def test_decode_params_reads_stripe_bracket_notation():
    pairs = [("restrictions[completed_sessions][limit]", "5"), ("line_items[0][price]", "p1"),
             ("line_items[0][quantity]", "2"), ("line_items[1][price]", "p2"),
             ("expand[]", "a"), ("expand[]", "b"), ("metadata[7]", "x"), ("active", "false")]
    assert decode_params(pairs) == {
        "restrictions": {"completed_sessions": {"limit": "5"}},
        "line_items": [{"price": "p1", "quantity": "2"}, {"price": "p2"}],
        "expand": ["a", "b"], "metadata": {"7": "x"}, "active": "false"}


def test_checkout_session_and_line_items_page_through_the_sdk(fake, client):
    fake.add_checkout_session("cs_test_1", payment_intent="pi_1", payment_link="plink_1",
                                 line_items=ITEMS, metadata={"order": "42"})

    session = client.v1.checkout.sessions.retrieve("cs_test_1")
    assert set(session.to_dict()) == set(shape("checkout.session"))
    assert (session.id, session.payment_intent, session.payment_link) == ("cs_test_1", "pi_1", "plink_1")
    assert (session.status, session.payment_status, session.amount_total) == ("complete", "paid", 7600)
    assert session.metadata.to_dict() == {"order": "42"}

    first = client.v1.checkout.sessions.line_items.list("cs_test_1", {"limit": 2})
    assert first.object == "list" and first.has_more and len(first.data) == 2
    items = list(first.auto_paging_iter())
    assert [(i.price.id, i.price.product, i.quantity, i.amount_total) for i in items] == [
        ("price_mug", "prod_mug", 2, 2400), ("price_tee", "prod_tee", 1, 2500),
        ("price_cap", "prod_cap", 3, 2700)]
    assert items[0].object == "item" and items[0].price.unit_amount == 1200

    pages = fake.calls("GET", r"/v1/checkout/sessions/cs_test_1/line_items")
    assert [p["params"].get("starting_after") for p in pages] == [None, items[1].id]


def test_session_can_expand_line_items(fake, client):
    fake.add_checkout_session("cs_test_2", payment_intent="pi_2", line_items=ITEMS[:1])
    session = client.v1.checkout.sessions.retrieve("cs_test_2", {"expand": ["line_items"]})
    assert [i.price.id for i in session.line_items.data] == ["price_mug"]
    assert fake.requests[-1]["params"] == {"expand": ["line_items"]}


def test_payment_link_update_and_reread(fake, client):
    fake.add_payment_link("plink_1", price="price_mug", limit=10, completed_count=3)

    updated = client.v1.payment_links.update("plink_1", {
        "active": False, "inactive_message": "Sold out",
        "restrictions": {"completed_sessions": {"limit": 4}}, "metadata": {"sku": "mug"}})
    assert updated.active is False

    link = client.v1.payment_links.retrieve("plink_1")
    assert link.active is False and link.inactive_message == "Sold out"
    assert link.restrictions.completed_sessions.to_dict() == {"count": 3, "limit": 4}
    assert link.metadata.to_dict() == {"sku": "mug"}
    assert fake.calls("POST", "/v1/payment_links/plink_1")[0]["params"]["restrictions"] == {
        "completed_sessions": {"limit": "4"}}

    client.v1.payment_links.update("plink_1", {"active": True, "restrictions": ""})
    link = client.v1.payment_links.retrieve("plink_1")
    assert link.active is True and link.restrictions is None


def test_payment_link_create_and_bad_params(fake, client):
    fake.add_price("price_tee", product="prod_tee", unit_amount=2500)
    link = client.v1.payment_links.create({
        "line_items": [{"price": "price_tee", "quantity": 1}],
        "restrictions": {"completed_sessions": {"limit": 1}},
        "payment_intent_data": {"capture_method": "manual"},
        "inactive_message": "Gone", "metadata": {"drop": "7"}})
    assert link.id.startswith("plink_") and link.active is True
    assert link.payment_intent_data.capture_method == "manual"
    assert link.restrictions.completed_sessions.limit == 1
    assert fake.get("payment_link", link.id)["_line_items"] == [{"price": "price_tee", "quantity": 1}]

    with fake.expect_violation("activ"), pytest.raises(stripe.InvalidRequestError) as error:
        client.v1.payment_links.update(link.id, {"activ": False})
    assert error.value.code == "parameter_unknown" and error.value.param == "activ"
    assert fake.get("payment_link", link.id)["active"] is True


def test_payment_links_list_newest_first_page_by_page_and_by_active(fake, client):
    fake.add_price("price_tee", product="prod_tee", unit_amount=2500)
    made = [client.v1.payment_links.create({"line_items": [{"price": "price_tee", "quantity": 1}],
                                            "metadata": {"n": str(n)}}).id for n in range(3)]
    client.v1.payment_links.update(made[1], {"active": False})

    first = client.v1.payment_links.list({"limit": 2})
    rest = client.v1.payment_links.list({"limit": 2, "starting_after": first.data[-1].id})
    assert [link.id for link in first.data + rest.data] == made[::-1] and first.has_more and not rest.has_more
    assert [link.id for link in client.v1.payment_links.list({"active": False}).data] == [made[1]]
    assert client.v1.payment_links.list({"active": True}).data[0].metadata["n"] == "2"


def test_capture_only_from_requires_capture(fake, client):
    fake.add_payment_intent("pi_manual", amount=1500, status="requires_capture",
                               capture_method="manual")
    fake.add_payment_intent("pi_done", amount=1500)

    captured = client.v1.payment_intents.capture("pi_manual")
    assert (captured.status, captured.amount_received, captured.amount_capturable) == ("succeeded", 1500, 0)

    for intent in ("pi_manual", "pi_done"):
        with pytest.raises(stripe.InvalidRequestError) as error:
            client.v1.payment_intents.capture(intent)
        assert error.value.http_status == 400
        assert error.value.code == "payment_intent_unexpected_state"
        assert error.value.json_body["error"]["payment_intent"]["status"] == "succeeded"


def test_cancel_only_from_cancelable_states(fake, client):
    fake.add_payment_intent("pi_hold", amount=900, status="requires_capture", capture_method="manual")
    fake.add_payment_intent("pi_paid", amount=900)

    canceled = client.v1.payment_intents.cancel("pi_hold", {"cancellation_reason": "abandoned"})
    assert (canceled.status, canceled.cancellation_reason) == ("canceled", "abandoned")

    for intent in ("pi_hold", "pi_paid"):
        with pytest.raises(stripe.InvalidRequestError) as error:
            client.v1.payment_intents.cancel(intent)
        assert error.value.code == "payment_intent_unexpected_state"
    assert client.v1.payment_intents.retrieve("pi_paid").status == "succeeded"


def test_refund_is_idempotent_per_key(fake, client):
    fake.add_payment_intent("pi_paid", amount=3000)

    first = client.v1.refunds.create({"payment_intent": "pi_paid", "amount": 1000},
                                     {"idempotency_key": "refund-order-7"})
    again = client.v1.refunds.create({"payment_intent": "pi_paid", "amount": 1000},
                                     {"idempotency_key": "refund-order-7"})
    assert again.id == first.id and first.amount == 1000 and first.charge == "ch_paid"
    assert again.last_response.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.last_response.headers
    assert [r.id for r in client.v1.refunds.list({"payment_intent": "pi_paid"})] == [first.id]
    assert [c["replayed"] for c in fake.calls("POST", "/v1/refunds")] == [False, True]

    with pytest.raises(stripe.IdempotencyError):
        client.v1.refunds.create({"payment_intent": "pi_paid", "amount": 999},
                                 {"idempotency_key": "refund-order-7"})

    rest = client.v1.refunds.create({"payment_intent": "pi_paid"})  # the remaining 2000
    assert rest.amount == 2000 and client.v1.refunds.retrieve(rest.id).payment_intent == "pi_paid"
    with pytest.raises(stripe.InvalidRequestError) as error:
        client.v1.refunds.create({"payment_intent": "pi_paid", "amount": 1})
    assert error.value.code == "charge_already_refunded"


def test_refund_rules(fake, client):
    fake.add_payment_intent("pi_hold", amount=500, status="requires_capture", capture_method="manual")
    fake.add_payment_intent("pi_paid", amount=500)
    with pytest.raises(stripe.InvalidRequestError) as error:
        client.v1.refunds.create({"payment_intent": "pi_hold"})
    assert error.value.http_status == 400
    with pytest.raises(stripe.InvalidRequestError) as error:
        client.v1.refunds.create({"payment_intent": "pi_paid", "amount": 501})
    assert error.value.code == "charge_already_refunded" and error.value.param == "amount"

    # Bad parameters fail before execution: Stripe saves nothing, so the key stays usable.
    with fake.expect_violation("reason"), pytest.raises(stripe.InvalidRequestError):
        client.v1.refunds.create({"payment_intent": "pi_paid", "reason": "bored"},
                                 {"idempotency_key": "k-1"})
    refund = client.v1.refunds.create({"payment_intent": "pi_paid", "reason": "duplicate"},
                                      {"idempotency_key": "k-1"})
    assert (refund.amount, refund.reason) == (500, "duplicate")


def test_injected_500_and_429(fake, client):
    fake.add_payment_intent("pi_paid", amount=3000)
    fake.fail_next("POST", "/v1/refunds", status=500)
    fake.fail_next("POST", "/v1/refunds", status=429)

    with pytest.raises(stripe.APIError) as error:
        client.v1.refunds.create({"payment_intent": "pi_paid"}, {"idempotency_key": "k-500"})
    assert error.value.http_status == 500 and error.value.json_body["error"]["type"] == "api_error"
    with pytest.raises(stripe.RateLimitError) as error:
        client.v1.refunds.create({"payment_intent": "pi_paid"}, {"idempotency_key": "k-500"})
    assert error.value.http_status == 429

    # Neither fault executed, so the same key now runs for real, once.
    refund = client.v1.refunds.create({"payment_intent": "pi_paid"}, {"idempotency_key": "k-500"})
    assert refund.amount == 3000
    assert [c["status"] for c in fake.calls("POST", "/v1/refunds")] == [500, 429, 200]


def test_sdk_retries_an_injected_500_with_the_same_key(fake):
    fake.add_payment_intent("pi_paid", amount=3000)
    fake.fail_next("POST", "/v1/refunds", status=500)
    retrying = fake.sdk_client(max_network_retries=1)
    assert retrying.v1.refunds.create({"payment_intent": "pi_paid"}).amount == 3000
    keys = [c["idempotency_key"] for c in fake.calls("POST", "/v1/refunds")]
    assert len(keys) == 2 and keys[0] == keys[1]


def test_stall_times_out_the_client_but_the_refund_happened(fake):
    fake.add_payment_intent("pi_paid", amount=3000)
    fake.stall_next("POST", "/v1/refunds", seconds=1.5)
    impatient = fake.sdk_client(timeout=0.3)

    with pytest.raises(stripe.APIConnectionError):
        impatient.v1.refunds.create({"payment_intent": "pi_paid"}, {"idempotency_key": "k-slow"})
    [call] = fake.calls("POST", "/v1/refunds")
    assert call["status"] == 200 and call["idempotency_key"] == "k-slow"

    # The retry with the same key gets the saved result instead of a second refund.
    refund = impatient.v1.refunds.create({"payment_intent": "pi_paid"}, {"idempotency_key": "k-slow"})
    assert refund.last_response.headers["Idempotent-Replayed"] == "true"
    assert len(impatient.v1.refunds.list({"payment_intent": "pi_paid"}).data) == 1


def test_missing_objects_unknown_urls_and_bad_keys(fake, client):
    with pytest.raises(stripe.InvalidRequestError) as error:
        client.v1.payment_intents.retrieve("pi_missing")
    assert error.value.http_status == 404
    assert error.value.json_body == {"error": {
        "type": "invalid_request_error", "code": "resource_missing", "param": "intent",
        "message": "No such payment_intent: 'pi_missing'"}}
    with pytest.raises(stripe.InvalidRequestError) as error:
        client.v1.checkout.sessions.retrieve("cs_missing")
    assert error.value.code == "resource_missing" and "cs_missing" in error.value.user_message

    with pytest.raises(stripe.InvalidRequestError) as error:
        client.v1.customers.retrieve("cus_1")
    assert error.value.http_status == 404 and "Unrecognized request URL" in str(error.value)

    live = stripe.StripeClient("sk_live_nope", base_addresses={"api": fake.base_url},
                               max_network_retries=0)
    with pytest.raises(stripe.AuthenticationError):
        live.v1.payment_intents.retrieve("pi_missing")


def test_reset_forgets_everything(fake, client):
    fake.add_payment_intent("pi_1", amount=100)
    fake.fail_next("GET", r"/v1/payment_intents/.*", times=None)
    fake.reset()
    assert fake.requests == [] and fake.get("payment_intent", "pi_1") is None
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.payment_intents.retrieve("pi_1")


# -- PaymentIntents made through the API -----------------------------------------------------


def test_manual_capture_intent_then_cancel(fake, client):
    intent = client.v1.payment_intents.create({
        "amount": 2500, "currency": "usd", "payment_method": "pm_card_visa",
        "confirm": True, "capture_method": "manual"})
    assert intent.status == "requires_capture"

    canceled = client.v1.payment_intents.cancel(intent.id, {"cancellation_reason": "abandoned"})
    assert canceled.status == "canceled" and canceled.cancellation_reason == "abandoned"
    with pytest.raises(stripe.InvalidRequestError) as error:
        client.v1.payment_intents.capture(intent.id)
    assert error.value.code == "payment_intent_unexpected_state"


def test_refund_of_a_confirmed_intent_replays_and_is_made_once(fake, client):
    intent = client.v1.payment_intents.create({
        "amount": 4000, "currency": "usd", "payment_method": "pm_card_visa", "confirm": True})
    assert intent.status == "succeeded"

    params = {"payment_intent": intent.id, "reason": "requested_by_customer"}
    first = client.v1.refunds.create(params, {"idempotency_key": "fake-refund-1"})
    again = client.v1.refunds.create(params, {"idempotency_key": "fake-refund-1"})
    assert again.id == first.id and again.last_response.headers["Idempotent-Replayed"] == "true"
    assert [r.id for r in client.v1.refunds.list({"payment_intent": intent.id})] == [first.id]


def test_decline_and_faults_in_front(fake, client):
    with pytest.raises(stripe.CardError) as error:
        client.v1.payment_intents.create({
            "amount": 1000, "currency": "usd", "payment_method": "pm_card_chargeCustomerFail",
            "confirm": True})
    assert error.value.code == "card_declined"

    fake.fail_next("POST", "/v1/payment_intents", status=500)
    with pytest.raises(stripe.APIError):
        client.v1.payment_intents.create({"amount": 1000, "currency": "usd"})
    assert fake.requests[-1]["status"] == 500


def test_fixture_shapes_are_served_unchanged_apart_from_overrides(fake, client):
    fake.add_payment_intent("pi_shape", amount=4200, metadata={"order": "9"})
    raw = json.loads(json.dumps(client.v1.payment_intents.retrieve("pi_shape").to_dict()))
    assert set(raw) == set(shape("payment_intent"))
    assert raw["amount"] == 4200 and raw["metadata"] == {"order": "9"}
    assert raw["client_secret"].startswith("pi_shape_secret_")


# -- pace: latency and the rate limit (off by default) ----------------------------------------


def test_latency_holds_back_matching_requests_only(fake, client):
    fake.add_latency("POST", "/v1/payment_intents", seconds=0.4, jitter=0.1)
    fake.add_payment_intent("pi_1", amount=100)

    started = time.perf_counter()
    client.v1.payment_intents.create({"amount": 500, "currency": "usd"})
    # at least the latency less its jitter: the answer waited (a lower bound, so never flaky)
    assert time.perf_counter() - started >= 0.3
    assert [c["status"] for c in fake.calls("POST", "/v1/payment_intents")] == [200]
    # a GET matches no rule: the rule looked at, then drawn as nothing
    assert fake._latency("GET", "/v1/payment_intents/pi_1") == 0.0
    assert all(0.3 <= fake._latency("POST", "/v1/payment_intents") <= 0.5 for _ in range(50))


def test_reset_ends_latency_and_rate_limit(fake):
    fake.add_latency("*", ".*", seconds=5)
    fake.limit_rate(1)
    fake.reset()
    assert fake._latency("POST", "/v1/refunds") == 0.0 and fake._rate_limit is None


def test_rate_limit_answers_429_like_stripe_and_executes_nothing(fake, client):
    fake.limit_rate(4, burst=2)

    client.v1.payment_intents.create({"amount": 500, "currency": "usd"}, {"idempotency_key": "k-1"})
    client.v1.payment_intents.create({"amount": 500, "currency": "usd"}, {"idempotency_key": "k-2"})
    with pytest.raises(stripe.RateLimitError) as error:
        client.v1.payment_intents.create({"amount": 500, "currency": "usd"}, {"idempotency_key": "k-3"})

    assert error.value.http_status == 429
    assert error.value.json_body["error"]["code"] == "rate_limit"
    assert error.value.json_body["error"]["type"] == "invalid_request_error"
    assert len(fake._objects["payment_intent"]) == 2  # the refused one was never made
    time.sleep(0.3)  # a token back (4/s): the refused key now runs for real, once
    intent = client.v1.payment_intents.create({"amount": 500, "currency": "usd"}, {"idempotency_key": "k-3"})
    assert "Idempotent-Replayed" not in intent.last_response.headers
    assert [c["status"] for c in fake.calls("POST", "/v1/payment_intents")] == [200, 200, 429, 200]


def test_pace_sets_what_real_stripe_does(fake):
    pace(fake, create_ms=300, jitter_ms=100, rate_limit=25)
    assert 0.2 <= fake._latency("POST", "/v1/checkout/sessions") <= 0.4
    assert fake._latency("GET", "/v1/checkout/sessions/cs_1") == 0.0
    assert fake._rate_limit.per_second == 25
