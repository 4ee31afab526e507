"""PaymentIntents with Stripe's state rules: create, retrieve, update, confirm, capture, cancel.

    requires_payment_method --(payment_method)--> requires_confirmation --confirm--> requires_capture
    (capture_method=manual) or succeeded (automatic); capture: requires_capture -> succeeded;
    cancel: from any status but succeeded/canceled/processing; a declined confirm goes back to
    requires_payment_method with ``last_payment_error`` and answers 402 ``card_error``.

Payment methods are Stripe's test ones (https://docs.stripe.com/testing#declined-payments):
``pm_card_visa`` and the other brands succeed; ``pm_card_chargeDeclined``,
``pm_card_chargeCustomerFail``, ``pm_card_chargeDeclinedInsufficientFunds`` ... are declined at
confirmation as Stripe declines them. Attached, a test one becomes a ``pm_...`` of its own, as at Stripe.
"""

from __future__ import annotations

import time

from .errors import StripeError, invalid, missing, unexpected_state
from .objects import Resources, merge_metadata, public, serves, store_fields
from .shapes import shape, token

CANCELABLE = ("requires_payment_method", "requires_capture", "requires_confirmation", "requires_action")
UPDATABLE = ("requires_payment_method", "requires_confirmation", "requires_action")
CONFIRMABLE = UPDATABLE
# Only these may not change once the intent has been confirmed; metadata, description... always may.
FROZEN_AFTER_CONFIRM = ("amount", "currency", "payment_method", "capture_method", "payment_method_types",
                        "setup_future_usage")
MINIMUM_AMOUNT = {"usd": (50, "$0.50"), "eur": (50, "€0.50"), "gbp": (30, "£0.30")}

SUCCEEDS = ("pm_card_visa", "pm_card_visa_debit", "pm_card_mastercard", "pm_card_mastercard_debit",
            "pm_card_mastercard_prepaid", "pm_card_amex", "pm_card_discover", "pm_card_diners", "pm_card_jcb",
            "pm_card_unionpay", "pm_card_us")
GENERIC_DECLINE = ("card_declined", "generic_decline", "Your card was declined.")
DECLINES = {
    "pm_card_chargeDeclined": GENERIC_DECLINE,
    "pm_card_visa_chargeDeclined": GENERIC_DECLINE,
    "pm_card_chargeCustomerFail": GENERIC_DECLINE,
    "pm_card_chargeDeclinedInsufficientFunds": ("card_declined", "insufficient_funds",
                                                "Your card has insufficient funds."),
    "pm_card_chargeDeclinedFraudulent": ("card_declined", "fraudulent", "Your card was declined."),
    "pm_card_chargeDeclinedLostCard": ("card_declined", "lost_card", "Your card was declined."),
    "pm_card_chargeDeclinedStolenCard": ("card_declined", "stolen_card", "Your card was declined."),
    "pm_card_chargeDeclinedExpiredCard": ("expired_card", "expired_card", "Your card has expired."),
    "pm_card_chargeDeclinedIncorrectCvc": ("incorrect_cvc", "incorrect_cvc", "Your card's security code is incorrect."),
    "pm_card_chargeDeclinedProcessingError": ("processing_error", "processing_error",
                                              "An error occurred while processing your card. Try again in a little "
                                              "bit."),
}
# Fields the fake interprets itself; any other parameter that names a field of the object is stored as sent.
HANDLED = {"amount", "currency", "capture_method", "confirm", "payment_method", "metadata", "expand",
           "client_secret", "amount_to_capture", "cancellation_reason"}


class PaymentIntents(Resources):
    _payment_methods: dict[str, str]  # pm_... -> the test payment method it was made from

    # -- for tests -------------------------------------------------------------------------------

    def add_payment_intent(self, id, *, amount, currency="usd", status="succeeded", capture_method="automatic",
                           metadata=None, **fields) -> dict:
        """A PaymentIntent already in ``status`` (charged ones get ``ch_<id>`` and ``pm_<id>``)."""
        charged = status in ("succeeded", "requires_capture")
        now = int(time.time())
        intent = shape(
            "payment_intent", id=id, amount=amount, currency=currency, status=status,
            capture_method=capture_method, metadata=dict(metadata or {}), created=now,
            amount_capturable=amount if status == "requires_capture" else 0,
            amount_received=amount if status == "succeeded" else 0,
            client_secret=f"{id}_secret_{token(24)}",
            latest_charge=f"ch_{id.removeprefix('pi_')}" if charged else None,
            payment_method=f"pm_{id.removeprefix('pi_')}" if charged else None,
            canceled_at=now if status == "canceled" else None, cancellation_reason=None,
            last_payment_error=None, next_action=None, processing=None, shipping=None,
            transfer_data=None, automatic_payment_methods=None, payment_method_types=["card"],
            payment_method_configuration_details=None, _refunded=0)
        intent.update(fields)
        return public(self._put(intent))

    # -- endpoints -------------------------------------------------------------------------------

    @serves("GET", "/v1/payment_intents/{intent}")
    def _get_intent(self, params, id):
        return public(self._find("payment_intent", id, "intent"))

    @serves("POST", "/v1/payment_intents")
    def _create_intent(self, params):
        self._check_amount(params["amount"], params["currency"])
        intent = self._objects["payment_intent"][self.add_payment_intent(
            f"pi_{token(24)}", amount=params["amount"], currency=params["currency"],
            status="requires_payment_method", capture_method=params.get("capture_method", "automatic"),
            metadata=merge_metadata({}, params.get("metadata")))["id"]]
        store_fields(intent, params, HANDLED)
        if params.get("payment_method"):
            self._attach(intent, params["payment_method"])
        if params.get("confirm"):
            self._confirm(intent)
        return public(intent)

    @serves("POST", "/v1/payment_intents/{intent}")
    def _update_intent(self, params, id):
        intent = self._find("payment_intent", id, "intent")
        frozen = [name for name in FROZEN_AFTER_CONFIRM if name in params]
        if frozen and intent["status"] not in UPDATABLE:
            raise StripeError(
                400, "invalid_request_error",
                f"This PaymentIntent's {frozen[0]} could not be updated because it has a status of "
                f"{intent['status']}. You may only update the {frozen[0]} of a PaymentIntent with one of the "
                f"following statuses: {', '.join(UPDATABLE)}.",
                code="payment_intent_unexpected_state", payment_intent=public(intent))
        if "amount" in params:
            self._check_amount(params["amount"], params.get("currency", intent["currency"]))
        for name in ("amount", "currency", "capture_method"):
            if name in params:
                intent[name] = params[name]
        intent["metadata"] = merge_metadata(intent["metadata"], params.get("metadata"))
        store_fields(intent, params, HANDLED)
        if params.get("payment_method"):
            self._attach(intent, params["payment_method"])
        return public(intent)

    @serves("POST", "/v1/payment_intents/{intent}/confirm")
    def _confirm_intent(self, params, id):
        intent = self._find("payment_intent", id, "intent")
        if intent["status"] == "succeeded":
            raise StripeError(400, "invalid_request_error", "You cannot confirm this PaymentIntent because it has "
                              "already succeeded after being previously confirmed.",
                              code="payment_intent_unexpected_state", payment_intent=public(intent))
        if intent["status"] not in CONFIRMABLE:
            raise unexpected_state(intent, "payment_intent", "confirmed", CONFIRMABLE)
        if "capture_method" in params:
            intent["capture_method"] = params["capture_method"]
        if params.get("payment_method"):
            self._attach(intent, params["payment_method"])
        self._confirm(intent)
        return public(intent)

    @serves("POST", "/v1/payment_intents/{intent}/capture")
    def _capture_intent(self, params, id):
        intent = self._find("payment_intent", id, "intent")
        if intent["status"] != "requires_capture":
            raise unexpected_state(intent, "payment_intent", "captured", ["requires_capture"])
        amount = params.get("amount_to_capture")
        if amount is not None and not 1 <= amount <= intent["amount_capturable"]:
            raise StripeError(400, "invalid_request_error", "The amount to capture must be less than or equal to "
                              "the amount capturable.", code="amount_too_large", param="amount_to_capture")
        intent.update(status="succeeded", amount_capturable=0,
                      amount_received=intent["amount_capturable"] if amount is None else amount,
                      metadata=merge_metadata(intent["metadata"], params.get("metadata")))
        return public(intent)

    @serves("POST", "/v1/payment_intents/{intent}/cancel")
    def _cancel_intent(self, params, id):
        intent = self._find("payment_intent", id, "intent")
        if intent["status"] not in CANCELABLE:
            raise unexpected_state(intent, "payment_intent", "canceled", CANCELABLE)
        intent.update(status="canceled", canceled_at=int(time.time()), amount_capturable=0,
                      cancellation_reason=params.get("cancellation_reason"))
        return public(intent)

    # -- the rules -------------------------------------------------------------------------------

    @staticmethod
    def _check_amount(amount: int, currency: str) -> None:
        least, shown = MINIMUM_AMOUNT.get(currency, (1, "1"))
        if amount < least:
            raise invalid("amount", f"Amount must be at least {shown} {currency}", "amount_too_small")

    def _attach(self, intent: dict, payment_method: str) -> None:
        if payment_method in SUCCEEDS or payment_method in DECLINES:
            card, payment_method = payment_method, f"pm_{token(24)}"
            self._payment_methods[payment_method] = card
        elif payment_method not in self._payment_methods:
            raise missing("PaymentMethod", payment_method, "payment_method", status=400)
        intent.update(payment_method=payment_method, status="requires_confirmation")

    def _confirm(self, intent: dict) -> None:
        if not intent["payment_method"]:
            raise StripeError(400, "invalid_request_error", "You cannot confirm this PaymentIntent because it's "
                              "missing a payment method. You can either update the PaymentIntent with a payment "
                              "method and then confirm it again, or confirm it again directly with a payment "
                              "method.", code="payment_intent_unexpected_state", payment_intent=public(intent))
        charge = f"ch_{token(24)}"
        declined = DECLINES.get(self._payment_methods.get(intent["payment_method"], ""))
        if declined:
            code, decline_code, message = declined
            error = {"type": "card_error", "code": code, "decline_code": decline_code, "message": message,
                     "charge": charge, "payment_method": {"id": intent["payment_method"], "object": "payment_method"}}
            intent.update(status="requires_payment_method", payment_method=None, latest_charge=charge,
                          last_payment_error=error)
            raise StripeError(402, "card_error", message, code=code, decline_code=decline_code, charge=charge,
                              payment_intent=public(intent))
        manual = intent["capture_method"] == "manual"
        intent.update(status="requires_capture" if manual else "succeeded", latest_charge=charge,
                      amount_capturable=intent["amount"] if manual else 0,
                      amount_received=0 if manual else intent["amount"], last_payment_error=None)
