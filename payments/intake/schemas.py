"""The shape of each Stripe object we read, checked when its event is stored (intake_record).

A signed event can still surprise us: an API-version change, a session made by another integration
on the same account, a field Stripe documents as nullable. Checked here, such an event is stored as
`failed` with the field at fault and never reaches a fulfilment batch, where it would have stopped
every sale behind it. Only the fields the store reads are described (extra fields are ignored), and
types are strict: "2500" is not an amount, 840 is not a currency.
"""

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr, ValidationError

StripeId = Field(min_length=1, max_length=255)


class _Shape(BaseModel):
    model_config = ConfigDict(extra="ignore", strict=True)


# Stripe metadata: string keys and values (a value of null is tolerated: some tools send it).
Metadata = dict[StrictStr, StrictStr | None]


class _Expanded(_Shape):
    id: StrictStr = StripeId


class _CustomerDetails(_Shape):
    email: StrictStr | None = None


class CheckoutSessionShape(_Shape):
    object: Literal["checkout.session"] | None = None
    id: StrictStr = StripeId
    mode: StrictStr | None = None
    status: StrictStr | None = None
    payment_status: StrictStr | None = None
    payment_intent: StrictStr | _Expanded | None = None
    payment_link: StrictStr | None = None
    amount_total: StrictInt | None = None
    amount_subtotal: StrictInt | None = None
    currency: StrictStr | None = None
    metadata: Metadata | None = None
    customer_details: _CustomerDetails | None = None


class _PaymentError(_Shape):
    message: StrictStr | None = None


class PaymentIntentShape(_Shape):
    object: Literal["payment_intent"] | None = None
    id: StrictStr = StripeId
    status: StrictStr | None = None
    metadata: Metadata | None = None
    last_payment_error: _PaymentError | None = None


class ProductShape(_Shape):
    object: Literal["product"]
    id: StrictStr = StripeId
    name: StrictStr | None = None
    description: StrictStr | None = None
    images: list[StrictStr] | None = None
    metadata: Metadata | None = None


class PriceShape(_Shape):
    object: Literal["price"]
    id: StrictStr = StripeId
    currency: StrictStr = Field(min_length=3, max_length=3)
    unit_amount: StrictInt | None = None
    billing_scheme: StrictStr | None = None
    product: StrictStr | _Expanded
    metadata: Metadata | None = None


SHAPES: dict[str, type[_Shape]] = {"checkout.session": CheckoutSessionShape, "payment_intent": PaymentIntentShape,
                                   "product": ProductShape, "price": PriceShape}


def event_object_refusal(*, event_type: str, data) -> str | None:
    """Why the event's object cannot be used (one line naming the field at fault), or None when it can."""
    shape = SHAPES.get(event_type.rpartition(".")[0])
    if shape is None:
        return None
    obj = data.get("object") if isinstance(data, dict) else None
    if not isinstance(obj, dict):
        return f"{event_type}: data.object is missing or not an object"
    try:
        shape.model_validate(obj)
    except ValidationError as exc:
        return f"{event_type}: {_first_error(exc)}"
    return None


def _first_error(exc: ValidationError) -> str:
    errors = exc.errors(include_url=False)
    first = errors[0]
    where = ".".join(str(part) for part in ("data", "object", *first["loc"]))
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    return f"{where}: {first['msg']}, got {_brief(first.get('input'))}{more}"


def _brief(value) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
