"""The request check against Stripe's OpenAPI spec: what passes, what is refused and how, and that a
refused request fails the test that sent it."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
import stripe

from tests.fakes.stripe.fixtures import assert_no_violations
from tests.fakes.stripe.forms import decode_tree
from tests.fakes.stripe.spec import Spec, SpecError, spec


def check(method: str, path: str, pairs: list[tuple[str, str]]) -> dict:
    op = spec().operation(method, path)
    return spec().check_params(op, decode_tree(pairs))


def refusal(method: str, path: str, pairs: list[tuple[str, str]]) -> SpecError:
    with pytest.raises(SpecError) as raised:
        check(method, path, pairs)
    return raised.value


# -- what passes, typed ----------------------------------------------------------------------------


def test_a_request_the_gateway_sends_passes_with_typed_values():
    params = check("POST", "/v1/payment_intents", [
        ("amount", "8000"), ("currency", "usd"), ("capture_method", "manual"), ("metadata[checkout]", "c1"),
        ("metadata[7]", "seven"), ("payment_method_types[0]", "card"), ("confirm", "false")])
    assert params == {"amount": 8000, "currency": "usd", "capture_method": "manual",
                      "metadata": {"checkout": "c1", "7": "seven"}, "payment_method_types": ["card"],
                      "confirm": False}


def test_nested_arrays_and_hashes_as_the_sdk_encodes_them():
    params = check("POST", "/v1/checkout/sessions", [
        ("mode", "payment"), ("line_items[0][price]", "price_1"), ("line_items[0][quantity]", "2"),
        ("line_items[1][price_data][currency]", "usd"), ("line_items[1][price_data][unit_amount]", "500"),
        ("line_items[1][price_data][product_data][name]", "Pin"), ("line_items[1][quantity]", "1"),
        ("payment_intent_data[capture_method]", "manual"), ("payment_intent_data[metadata][hold]", "h1"),
        ("expires_at", "1900000000"), ("expand[]", "line_items"), ("expand[]", "payment_intent")])
    assert params["line_items"] == [
        {"price": "price_1", "quantity": 2},
        {"price_data": {"currency": "usd", "unit_amount": 500, "product_data": {"name": "Pin"}}, "quantity": 1}]
    assert params["payment_intent_data"] == {"capture_method": "manual", "metadata": {"hold": "h1"}}
    assert params["expires_at"] == 1900000000 and params["expand"] == ["line_items", "payment_intent"]


def test_empty_string_unsets_where_stripe_allows_it():
    params = check("POST", "/v1/payment_links/plink_1", [("restrictions", ""), ("inactive_message", ""),
                                                         ("metadata", ""), ("active", "true")])
    assert params == {"restrictions": "", "inactive_message": "", "metadata": "", "active": True}


def test_query_string_of_a_get_and_the_path_ids():
    op = spec().operation("GET", "/v1/checkout/sessions/cs_test_1/line_items")
    assert (op.template, op.path_params) == ("/v1/checkout/sessions/{session}/line_items", {"session": "cs_test_1"})
    assert spec().check_params(op, decode_tree([("limit", "100"), ("starting_after", "li_1")])) == {
        "limit": 100, "starting_after": "li_1"}


# -- what is refused, as Stripe refuses it ------------------------------------------------------------


def test_unknown_parameter():
    error = refusal("POST", "/v1/payment_intents", [("amount", "100"), ("currency", "usd"), ("amout", "1")])
    assert (error.status, error.code, error.param) == (400, "parameter_unknown", "amout")
    assert error.message == "Received unknown parameter: amout"


def test_unknown_nested_parameter_is_named_in_brackets():
    error = refusal("POST", "/v1/payment_links/plink_1", [("restrictions[completed_sessions][limt]", "4")])
    assert (error.code, error.param) == ("parameter_unknown", "restrictions[completed_sessions][limt]")


def test_value_outside_the_enum():
    error = refusal("POST", "/v1/payment_intents/pi_1/cancel", [("cancellation_reason", "bored")])
    assert (error.status, error.code, error.param) == (400, "parameter_invalid", "cancellation_reason")
    assert error.message == ("Invalid cancellation_reason: must be one of abandoned, duplicate, fraudulent, "
                             "or requested_by_customer")


def test_enum_inside_a_hash():
    error = refusal("POST", "/v1/checkout/sessions", [("payment_intent_data[capture_method]", "later")])
    assert error.param == "payment_intent_data[capture_method]"


def test_unknown_path_and_unknown_method():
    for method, path in [("GET", "/v1/payment_intentz/pi_1"), ("DELETE", "/v1/refunds"),
                         ("POST", "/v1/checkout/sessions/cs_1/complete")]:
        error = refusal(method, path, [])
        assert error.status == 404 and error.code is None
        assert error.message.startswith(f"Unrecognized request URL ({method}: {path}).")


@pytest.mark.parametrize("pairs, param, message", [
    ([("amount", "12.5"), ("currency", "usd")], "amount", "Invalid integer: 12.5"),
    ([("amount", "100"), ("currency", "usd"), ("confirm", "yes")], "confirm", "Invalid boolean: yes"),
    ([("amount", "100"), ("currency", "usd"), ("metadata", "x")], "metadata", "Invalid hash"),
    ([("amount", "100"), ("currency", "usd"), ("payment_method_types", "card")], "payment_method_types",
     "Invalid array"),
    ([("amount[value]", "100"), ("currency", "usd")], "amount",
     "Invalid integer: amount takes a single value, not a hash"),
    ([("currency", "usd")], "amount", "Missing required param: amount."),
])
def test_wrong_types_and_missing_required(pairs, param, message):
    error = refusal("POST", "/v1/payment_intents", pairs)
    assert (error.status, error.param, error.message) == (400, param, message)


def test_beyond_max_length():
    error = refusal("POST", "/v1/payment_links/plink_1", [("inactive_message", "x" * 501)])
    assert error.param == "inactive_message" and error.message.endswith("must be at most 500 characters")
    assert check("POST", "/v1/payment_links/plink_1", [("inactive_message", "x" * 500)])


def test_any_of_reports_the_branch_the_value_was_meant_for():
    # restrictions: a hash, or "" to unset; a bad hash is reported as such, not as "not ''".
    error = refusal("POST", "/v1/payment_links/plink_1", [("restrictions[completed_sessions][limit]", "many")])
    assert (error.param, error.message) == ("restrictions[completed_sessions][limit]", "Invalid integer: many")


def test_refs_are_followed():
    small = Spec({"paths": {}, "components": {"schemas": {"amount": {"type": "integer"}}}})
    schema = {"type": "object", "properties": {"n": {"$ref": "#/components/schemas/amount"}}}
    assert small.check(schema, {"n": "3"}, "") == {"n": 3}
    with pytest.raises(SpecError, match="Invalid integer"):
        small.check(schema, {"n": "three"}, "")


# -- at the fake: answered, recorded, and the test fails ---------------------------------------------


def test_a_refused_request_is_answered_like_stripe_and_recorded(fake):
    client = fake.sdk_client()
    with pytest.raises(stripe.InvalidRequestError) as error:
        client.v1.payment_intents.create({"amount": 100, "currency": "usd", "capture_method": "later"},
                                         {"idempotency_key": "k-bad"})
    assert error.value.http_status == 400 and error.value.param == "capture_method"
    [violation] = fake.violations
    assert violation["path"] == "/v1/payment_intents" and violation["param"] == "capture_method"
    assert violation["params"]["capture_method"] == "later"
    assert fake.unreported_violations() == [violation]
    # Refused before anything ran: the key is free for the corrected request.
    assert client.v1.payment_intents.create({"amount": 100, "currency": "usd"}, {"idempotency_key": "k-bad"})


def test_a_recorded_violation_fails_the_test_once(fake):
    with pytest.raises(stripe.InvalidRequestError):
        fake.sdk_client().v1.refunds.create({"payment_intent": "pi_1", "reason": "bored"})
    with pytest.raises(pytest.fail.Exception, match=r"POST /v1/refunds: Invalid reason"):
        assert_no_violations(fake)
    assert_no_violations(fake)  # reported once, not again at teardown


def test_an_expected_violation_does_not(fake):
    with fake.expect_violation("reason"), pytest.raises(stripe.InvalidRequestError):
        fake.sdk_client().v1.refunds.create({"payment_intent": "pi_1", "reason": "bored"})
    assert fake.violations == []
    with pytest.raises(AssertionError, match="none came"), fake.expect_violation():
        pass


def test_an_endpoint_stripe_has_and_the_fake_lacks_is_a_404_not_a_violation(fake):
    with pytest.raises(stripe.InvalidRequestError) as error:
        fake.sdk_client().v1.customers.retrieve("cus_1")
    assert error.value.http_status == 404 and "the fake does not" in str(error.value)
    assert fake.violations == []


def test_through_pytest_a_test_that_sends_what_stripe_refuses_fails(tmp_path):
    # A pytest run of its own, with the fake's fixtures as tests/conftest.py has them.
    (tmp_path / "conftest.py").write_text('pytest_plugins = ["tests.fakes.stripe.fixtures"]\n')
    (tmp_path / "test_inner.py").write_text(
        "import pytest, stripe\n\n"
        "def test_sends_an_unknown_parameter(stripe_fake):\n"
        "    with pytest.raises(stripe.InvalidRequestError):\n"
        "        stripe_fake.sdk_client().v1.refunds.create({'payment_intent': 'pi_1', 'reasn': 'x'})\n\n"
        "def test_sends_nothing_wrong(stripe_fake):\n"
        "    with pytest.raises(stripe.InvalidRequestError):\n"
        "        stripe_fake.sdk_client().v1.refunds.create({'payment_intent': 'pi_1'})\n")
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    run = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:randomly",
                          "--rootdir", str(tmp_path), str(tmp_path)], capture_output=True, text=True, env=env,
                         cwd=tmp_path, timeout=120)
    assert "1 failed, 1 passed" in run.stdout, run.stdout + run.stderr
    assert "FAILED test_inner.py::test_sends_an_unknown_parameter" in run.stdout
    assert "POST /v1/refunds: Received unknown parameter: reasn" in run.stdout
