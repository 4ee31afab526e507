"""Stripe-shaped error answers: ``{"error": {"type", "code", "message", "param", ...}}``."""

from __future__ import annotations

import copy

UNRECOGNIZED_URL = ("Unrecognized request URL ({method}: {path}). Please see https://stripe.com/docs or we can "
                    "help at https://support.stripe.com/.")


class StripeError(Exception):
    """An error response in Stripe's shape.

    ``executed=False`` marks failures Stripe raises before an endpoint starts executing (bad
    parameters, auth, injected faults): Stripe saves no idempotent result for those, so a retry
    with the same key runs for real.
    """

    def __init__(self, status, type, message, *, code=None, param=None, executed=True, **extra):
        super().__init__(message)
        self.status = status
        self.executed = executed
        fields = dict(type=type, code=code, message=message, param=param, **extra)
        self.body = {"error": {k: v for k, v in fields.items() if v is not None}}


def missing(kind: str, id: str, param: str = "id", *, status: int = 404) -> StripeError:
    """No such object. Stripe answers 404 for the object in the URL, 400 for one a parameter names."""
    return StripeError(status, "invalid_request_error", f"No such {kind}: '{id}'", code="resource_missing",
                       param=param)


def invalid(param: str, message: str, code: str | None = "parameter_invalid") -> StripeError:
    """A parameter Stripe refuses before doing anything."""
    return StripeError(400, "invalid_request_error", message, code=code, param=param, executed=False)


def unrecognized_url(method: str, path: str, note: str = "") -> StripeError:
    return StripeError(404, "invalid_request_error", UNRECOGNIZED_URL.format(method=method, path=path) + note,
                       executed=False)


def unexpected_state(obj: dict, kind: str, action: str, allowed, *, label: str = "PaymentIntent") -> StripeError:
    """Stripe's answer to an action the object's status does not allow (the object rides along)."""
    served = {k: copy.deepcopy(v) for k, v in obj.items() if not k.startswith("_")}
    return StripeError(
        400, "invalid_request_error",
        f"This {label} could not be {action} because it has a status of {obj['status']}. Only a {label} with "
        f"one of the following statuses may be {action}: {', '.join(allowed)}.",
        code=f"{kind}_unexpected_state", **{kind: served})
