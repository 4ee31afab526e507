"""PaymentIntents at the fake: Stripe's state rules, its test cards, and its errors."""

import pytest
import stripe


def create(client, **params):
    return client.v1.payment_intents.create({"amount": 2500, "currency": "usd", **params})


def test_our_checkout_flow_create_attach_confirm_capture(client):
    # given: what the store's checkout creates
    intent = create(client, capture_method="manual", payment_method_types=["card"], metadata={"checkout": "c1"})
    assert (intent.status, intent.amount_capturable, intent.latest_charge) == ("requires_payment_method", 0, None)
    assert intent.client_secret.startswith(f"{intent.id}_secret_")

    # when: Stripe.js attaches the card, then confirms
    attached = client.v1.payment_intents.update(intent.id, {"payment_method": "pm_card_visa"})
    assert attached.status == "requires_confirmation" and attached.payment_method.startswith("pm_")
    assert attached.payment_method != "pm_card_visa"  # a test card becomes a payment method of its own
    confirmed = client.v1.payment_intents.confirm(intent.id)

    # then
    assert (confirmed.status, confirmed.amount_capturable, confirmed.amount_received) == ("requires_capture", 2500, 0)
    assert confirmed.latest_charge.startswith("ch_")
    captured = client.v1.payment_intents.capture(intent.id)
    assert (captured.status, captured.amount_received, captured.amount_capturable) == ("succeeded", 2500, 0)
    assert captured.metadata.to_dict() == {"checkout": "c1"}


def test_automatic_capture_succeeds_at_confirmation(client):
    intent = create(client, payment_method="pm_card_mastercard", confirm=True)
    assert (intent.status, intent.amount_received, intent.capture_method) == ("succeeded", 2500, "automatic")
    with pytest.raises(stripe.InvalidRequestError) as error:
        client.v1.payment_intents.confirm(intent.id)
    assert error.value.code == "payment_intent_unexpected_state" and "already succeeded" in str(error.value)


@pytest.mark.parametrize("card, code, decline_code", [
    ("pm_card_chargeDeclined", "card_declined", "generic_decline"),
    ("pm_card_chargeCustomerFail", "card_declined", "generic_decline"),
    ("pm_card_chargeDeclinedInsufficientFunds", "card_declined", "insufficient_funds"),
    ("pm_card_chargeDeclinedExpiredCard", "expired_card", "expired_card"),
])
def test_a_declined_card_is_a_402_and_the_intent_waits_for_another(client, card, code, decline_code):
    intent = create(client, capture_method="manual")
    with pytest.raises(stripe.CardError) as error:
        client.v1.payment_intents.confirm(intent.id, {"payment_method": card})
    assert (error.value.http_status, error.value.code) == (402, code)
    assert error.value.json_body["error"]["decline_code"] == decline_code
    failed = error.value.json_body["error"]["payment_intent"]
    assert (failed["status"], failed["payment_method"]) == ("requires_payment_method", None)
    assert failed["last_payment_error"]["code"] == code

    # another card then goes through, and the error is cleared
    retried = client.v1.payment_intents.confirm(intent.id, {"payment_method": "pm_card_visa"})
    assert retried.status == "requires_capture" and retried.last_payment_error is None


def test_a_decline_is_replayed_under_its_idempotency_key(fake, client):
    intent = create(client)
    for _ in range(2):
        with pytest.raises(stripe.CardError):
            client.v1.payment_intents.confirm(intent.id, {"payment_method": "pm_card_chargeDeclined"},
                                              {"idempotency_key": "confirm-1"})
    assert [c["replayed"] for c in fake.calls("POST", rf"/v1/payment_intents/{intent.id}/confirm")] == [False, True]


def test_confirming_without_a_payment_method_or_with_an_unknown_one(client):
    intent = create(client)
    with pytest.raises(stripe.InvalidRequestError) as error:
        client.v1.payment_intents.confirm(intent.id)
    assert error.value.http_status == 400 and "missing a payment method" in str(error.value)
    with pytest.raises(stripe.InvalidRequestError) as error:
        client.v1.payment_intents.confirm(intent.id, {"payment_method": "pm_nobody_made"})
    assert (error.value.code, error.value.param) == ("resource_missing", "payment_method")


def test_what_may_change_after_confirmation(client):
    intent = create(client, payment_method="pm_card_visa", confirm=True, capture_method="manual")
    with pytest.raises(stripe.InvalidRequestError) as error:
        client.v1.payment_intents.update(intent.id, {"amount": 3000})
    assert error.value.code == "payment_intent_unexpected_state" and "amount could not be updated" in str(error.value)
    noted = client.v1.payment_intents.update(intent.id, {"metadata": {"order": "o1"}, "description": "Hoodie"})
    assert (noted.metadata.to_dict(), noted.description, noted.amount) == ({"order": "o1"}, "Hoodie", 2500)


def test_canceled_is_final(client):
    intent = create(client, capture_method="manual")
    canceled = client.v1.payment_intents.cancel(intent.id, {"cancellation_reason": "requested_by_customer"})
    assert (canceled.status, canceled.cancellation_reason) == ("canceled", "requested_by_customer")
    assert canceled.canceled_at
    for action in (lambda: client.v1.payment_intents.confirm(intent.id, {"payment_method": "pm_card_visa"}),
                   lambda: client.v1.payment_intents.cancel(intent.id),
                   lambda: client.v1.payment_intents.capture(intent.id)):
        with pytest.raises(stripe.InvalidRequestError) as error:
            action()
        assert error.value.code == "payment_intent_unexpected_state"
        assert error.value.json_body["error"]["payment_intent"]["status"] == "canceled"


def test_partial_capture_and_its_limit(client):
    intent = create(client, payment_method="pm_card_visa", confirm=True, capture_method="manual")
    with pytest.raises(stripe.InvalidRequestError) as error:
        client.v1.payment_intents.capture(intent.id, {"amount_to_capture": 2501})
    assert error.value.code == "amount_too_large"
    assert client.v1.payment_intents.capture(intent.id, {"amount_to_capture": 2000}).amount_received == 2000


def test_amount_below_stripes_minimum(client):
    with pytest.raises(stripe.InvalidRequestError) as error:
        create(client, amount=49)
    assert (error.value.code, error.value.param) == ("amount_too_small", "amount")
    assert "$0.50" in str(error.value)
