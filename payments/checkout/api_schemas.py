"""What the JSON API accepts and answers, and how refusals read.

Inputs are strict: a quantity is a whole JSON number (2 or 2.0, not 1.5, "2" or true), ids match
the shape of ours, unknown fields are refused. Every refusal is a 4xx whose body has a readable
`detail`.
"""

from typing import Annotated, Literal

from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import validate_email
from ninja import Schema
from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field

from ..gateway import GatewayError, GatewayRejected

MAX_QUANTITY = 1000
MAX_LINES = 20


def _email(value: str) -> str:
    try:
        validate_email(value)
    except DjangoValidationError:
        raise ValueError("must be a valid e-mail address") from None
    return value


StoreId = Annotated[str, Field(strict=True, min_length=1, max_length=64, pattern=r"^store_[A-Za-z0-9]+$",
                               examples=["store_HallA"])]
ProductId = Annotated[str, Field(strict=True, min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$",
                                 examples=["prod_Hoodie"], description="The Stripe product id.")]
PriceId = Annotated[str, Field(strict=True, min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$",
                               examples=["price_HoodieM"],
                               description="The Stripe price id of the variant (size, colour); needed when the "
                                           "product comes in several.")]
def _integral_number(value):
    # JSON has one number type, and JSON Schema counts 2.0 as an integer: so do we. 1.5 stays refused.
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


Quantity = Annotated[int, Field(strict=True, ge=1, le=MAX_QUANTITY, examples=[1]), BeforeValidator(_integral_number)]
Email = Annotated[str, Field(strict=True, max_length=254, examples=["buyer@example.com"],
                             json_schema_extra={"format": "email"}), AfterValidator(_email)]


class _In(BaseModel):
    # Plain pydantic (not ninja.Schema): a body that is not a JSON object is refused as such,
    # instead of being read attribute by attribute.
    model_config = ConfigDict(extra="forbid")


class StockCheckIn(_In):
    store: StoreId
    product: ProductId
    price: PriceId | None = None
    quantity: Quantity


class CheckoutLineIn(_In):
    product: ProductId
    price: PriceId | None = None
    quantity: Quantity


class CheckoutIn(_In):
    store: StoreId
    lines: Annotated[list[CheckoutLineIn], Field(min_length=1, max_length=MAX_LINES)]
    email: Email | None = None


class WaitlistIn(_In):
    store: StoreId
    product: ProductId
    price: PriceId | None = None
    email: Email


class Error(Schema):
    detail: str


class FieldError(Schema):
    field: str
    message: str


class BadRequest(Schema):
    detail: str
    errors: list[FieldError] = []


class StockAnswer(Schema):
    """What a stock check says of the product (or size) asked for, whether or not it is there."""

    store: str
    product: str
    price: str = ""
    size: str = ""
    colour: str = ""
    name: str
    requested: int
    available: int


class StockOk(StockAnswer):
    ok: Literal[True] = True


class Alternative(Schema):
    store: str
    store_name: str
    available: int


class StockShort(StockAnswer):
    detail: str
    ok: Literal[False] = False
    alternatives: list[Alternative]
    waitlist: str


class ShortLine(Schema):
    product: str
    price: str = ""
    name: str
    requested: int
    available: int


class CheckoutShort(Schema):
    detail: str
    shortfalls: list[ShortLine]


class CheckoutCreated(Schema):
    checkout: str
    status: str
    amount: int
    currency: str
    expires_at: str
    client_secret: str
    payment_intent: str
    checkout_url: str


class CheckoutStatus(Schema):
    checkout: str
    status: str
    status_text: str
    resolution: str
    expires_at: str
    checkout_url: str


class WaitlistOut(Schema):
    detail: str
    store: str
    product: str
    price: str = ""
    email: str


def short_of_stock_text(*, name: str, store_name: str, available: int) -> str:
    """How a shortage reads, on the API and on the pages."""
    if available <= 0:
        return f"{name} is sold out in {store_name}"
    return f"Only {available} left of {name} in {store_name}"


def waitlist_joined_text(product, email: str) -> str:
    """One answer for a new and an already listed address, on the API and the page."""
    return f"We will e-mail {email} once when {product.display_name} is back in {product.store.name}."


def gateway_error_text(exc: GatewayError) -> str:
    """checkout_start has already released the hold when a GatewayError reaches us."""
    if isinstance(exc, GatewayRejected):
        return f"The payment provider refused to start this payment ({exc}): nothing was charged and nothing is held."
    return ("The payment provider could not be reached: nothing was charged and nothing is held. "
            "Please try again in a moment.")


# --- Validation errors, as people read them -----------------------------------------------------

_FIELD_HINTS = {
    "store": "must be a store id like store_XYZ789",
    "product": "must be a Stripe product id like prod_ABC123 (letters, digits, _ and -)",
    "price": "must be a Stripe price id like price_ABC123 (letters, digits, _ and -)",
}


def validation_errors_readable(errors: list[dict]) -> tuple[str, list[dict]]:
    """Turn ninja/pydantic errors into one sentence plus a list of {field, message}."""
    found = []
    for error in errors:
        field = _field_path(error.get("loc") or ())
        if not field and error.get("type") in ("missing", "model_type", "model_attributes_type", "dict_type"):
            found.append({"field": "", "message": "The request body must be a JSON object."})
            continue
        found.append({"field": field, "message": _message(field, error)})
    unique = list({(e["field"], e["message"]): e for e in found}.values())
    detail = "; ".join(f"{e['field']}: {e['message']}" if e["field"] else e["message"] for e in unique[:5])
    return detail or "Invalid request.", unique


def _field_path(loc) -> str:
    parts = list(loc)
    if parts and parts[0] in ("body", "path", "query"):
        parts = parts[1:]
    if parts and parts[0] == "payload":
        parts = parts[1:]
    path = ""
    for part in parts:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path


def _message(field: str, error: dict) -> str:
    kind = error.get("type", "")
    ctx = error.get("ctx") or {}
    leaf = field.rsplit(".", 1)[-1].split("[", 1)[0]
    if kind == "missing":
        return "is required"
    if kind == "extra_forbidden":
        return "is not a field this endpoint knows"
    if leaf == "quantity":
        if kind in ("greater_than_equal", "less_than_equal"):
            return f"must be a whole number from 1 to {MAX_QUANTITY}"
        return "must be a whole number (a JSON number like 2, not a string, fraction, boolean or null)"
    if kind == "string_pattern_mismatch" and leaf in _FIELD_HINTS:
        return _FIELD_HINTS[leaf]
    if kind == "string_type":
        return "must be a string"
    if kind == "string_unicode":
        return "must be valid Unicode text"
    if kind == "string_too_short":
        return "must not be empty"
    if kind == "string_too_long":
        return f"must be at most {ctx.get('max_length')} characters"
    if field == "lines" and kind in ("too_short", "too_long"):
        return f"needs 1 to {MAX_LINES} lines"
    if kind == "list_type":
        return "must be a list"
    if kind in ("model_type", "model_attributes_type", "dict_type"):
        return "must be an object"
    if kind == "value_error":
        return str(ctx.get("error") or error.get("msg", "")).removeprefix("Value error, ")
    return str(error.get("msg") or "is invalid")
