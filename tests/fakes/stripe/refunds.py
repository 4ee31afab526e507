"""Refunds of a succeeded PaymentIntent (or its charge), whole or in part, never beyond what was paid."""

from __future__ import annotations

import time

from .errors import StripeError, invalid, missing
from .objects import Resources, merge_metadata, page, public, serves
from .shapes import shape, token


class Refunds(Resources):
    @serves("POST", "/v1/refunds")
    def _create_refund(self, params):
        intent = self._refunded_intent(params)
        if intent["status"] != "succeeded":
            raise StripeError(400, "invalid_request_error",
                              f"This PaymentIntent ({intent['id']}) does not have a successful charge to refund "
                              f"(status: {intent['status']}).", code="payment_intent_unexpected_state",
                              payment_intent=public(intent))
        remaining = intent["amount_received"] - intent["_refunded"]
        if remaining <= 0:
            raise StripeError(400, "invalid_request_error", f"Charge {intent['latest_charge']} has already been "
                              "refunded.", code="charge_already_refunded", charge=intent["latest_charge"])
        amount = params.get("amount", remaining)
        if amount < 1:
            raise invalid("amount", f"Invalid positive integer: {amount}")
        if amount > remaining:
            raise StripeError(400, "invalid_request_error",
                              f"Refund amount ({amount}) is greater than unrefunded amount on charge ({remaining})",
                              code="charge_already_refunded", param="amount", charge=intent["latest_charge"])
        refund = shape("refund", id=f"re_{token(24)}", amount=amount, charge=intent["latest_charge"],
                       payment_intent=intent["id"], currency=intent["currency"], reason=params.get("reason"),
                       metadata=merge_metadata({}, params.get("metadata")), created=int(time.time()),
                       status="succeeded")
        intent["_refunded"] += amount
        return public(self._put(refund))

    def _refunded_intent(self, params) -> dict:
        if params.get("payment_intent"):
            return self._find("payment_intent", params["payment_intent"], "payment_intent")
        if params.get("charge"):
            for intent in self._objects["payment_intent"].values():
                if intent["latest_charge"] == params["charge"]:
                    return intent
            raise missing("charge", params["charge"], "charge")
        raise invalid("payment_intent", "One of the following params should be provided for this request: "
                      "payment_intent or charge.", "parameter_missing")

    @serves("GET", "/v1/refunds/{refund}")
    def _get_refund(self, params, id):
        return public(self._find("refund", id))

    @serves("GET", "/v1/refunds")
    def _list_refunds(self, params):
        wanted = {k: params[k] for k in ("payment_intent", "charge") if k in params}
        refunds = [r for r in reversed(self._objects["refund"].values())  # newest first
                   if all(r[k] == v for k, v in wanted.items())]
        return page(refunds, params, "/v1/refunds")
