"""The JSON API (django-ninja), mounted at /api/: schema at /api/openapi.json, docs at /api/docs.

Each endpoint validates, calls one selector or service, and renders. Every refusal is a 4xx with a
readable `detail`: validation errors are 400 (not ninja's default 422), malformed JSON is 400,
unknown stores, products and checkouts are 404 (a product sold in sizes or colours without the
`price` of one is 400, naming them), stock shortages are 409, and a payment provider
that cannot be reached or refuses the payment is 503 (the hold is already released by then).
"""

import uuid

from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from ninja import NinjaAPI, Status
from ninja.errors import HttpError
from ninja.errors import ValidationError as NinjaValidationError

from common.buyers import request_buyer
from inventory import selectors as inventory_selectors
from inventory.exceptions import InsufficientStock, InvalidStockChange, StoreNotFound, VariantRequired
from inventory.models import Product
from inventory.waitlist import WaitlistBusy, WaitlistRefused, waitlist_join

from . import api_schemas as s
from .api_schemas import waitlist_joined_text
from .broadcast import checkout_snapshot
from .limits import TooManyOpenCheckouts
from .services import CheckoutRefused, CheckoutRequestLine, checkout_start
from ..gateway import GatewayError

api = NinjaAPI(
    title="Swag store API",
    version="1",
    description="Stock checks, checkouts that hold stock before payment, and the waitlist.",
    urls_namespace="payments:api",
)

ERRORS = {400: s.BadRequest, 404: s.Error}
# Writes also answer 415 (not JSON) and 403 (another site's page): payments.middleware.JsonApiSameOrigin.
WRITE_ERRORS = {**ERRORS, 403: s.Error, 415: s.Error}


@api.exception_handler(NinjaValidationError)
def _validation_error(request: HttpRequest, exc: NinjaValidationError) -> HttpResponse:
    detail, errors = s.validation_errors_readable(exc.errors)
    return api.create_response(request, {"detail": detail, "errors": errors}, status=400)


@api.exception_handler(HttpError)
def _http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    detail = str(exc)
    if exc.status_code == 400 and detail.startswith("Cannot parse request body"):
        detail = "The request body must be valid JSON."
    return api.create_response(request, {"detail": detail}, status=exc.status_code)


@api.exception_handler(GatewayError)
def _gateway_error(request: HttpRequest, exc: GatewayError) -> HttpResponse:
    return api.create_response(request, {"detail": s.gateway_error_text(exc)}, status=503)


@api.post("/stock-check", response={200: s.StockOk, 409: s.StockShort, **WRITE_ERRORS}, url_name="stock_check",
          summary="Is this much of a product available in a store?")
def stock_check(request: HttpRequest, payload: s.StockCheckIn):
    product = _product_or_404(payload.store, payload.product, payload.price)
    found = {"store": product.store_id, "product": product.stripe_product_id, "price": product.stripe_price_id,
             "size": product.size, "colour": product.colour, "name": product.display_name,
             "requested": payload.quantity, "available": product.available}
    if product.available >= payload.quantity:
        return Status(200, found)
    alternatives = inventory_selectors.product_alternatives(stripe_product_id=product.stripe_product_id,
                                                            exclude_store_id=product.store_id, size=product.size,
                                                            colour=product.colour)
    detail = s.short_of_stock_text(name=product.display_name, store_name=product.store.name,
                                   available=product.available)
    return Status(409, {
        **found, "ok": False, "detail": detail,
        "alternatives": [{"store": p.store_id, "store_name": p.store.name, "available": p.available}
                         for p in alternatives],
        "waitlist": reverse("payments:api:waitlist"),
    })


@api.post("/checkouts", response={201: s.CheckoutCreated, 409: s.CheckoutShort, 429: s.Error, 503: s.Error,
                                  **WRITE_ERRORS},
          url_name="checkout_create", summary="Hold the units, then open a manual-capture payment for them")
def checkout_create(request: HttpRequest, response: HttpResponse, payload: s.CheckoutIn):
    products = _products_or_404(payload.store, [(line.product, line.price or "") for line in payload.lines])
    lines = [CheckoutRequestLine(products[(line.product, line.price or "")].pk, line.quantity)
             for line in payload.lines]
    try:
        checkout = checkout_start(lines=lines, email=payload.email or "", buyer=request_buyer(request))
    except InsufficientStock as short:
        return Status(409, _shortfalls(short, products.values()))
    except TooManyOpenCheckouts as busy:
        raise HttpError(429, str(busy)) from busy
    except (CheckoutRefused, InvalidStockChange) as refused:
        raise HttpError(400, str(refused)) from refused
    url = _checkout_url(request, checkout.pk)
    response["Location"] = url
    return Status(201, {
        "checkout": str(checkout.pk), "status": checkout.status, "amount": checkout.amount,
        "currency": checkout.currency, "expires_at": checkout.expires_at.isoformat(),
        "client_secret": checkout.client_secret, "payment_intent": checkout.payment_intent_id, "checkout_url": url,
    })


@api.get("/checkouts/{checkout_id}", response={200: s.CheckoutStatus, 404: s.Error}, url_name="checkout_status",
         summary="Where a checkout stands now")
def checkout_status(request: HttpRequest, checkout_id: str):
    try:
        snapshot = checkout_snapshot(uuid.UUID(checkout_id))
    except ValueError:
        snapshot = None
    if snapshot is None:
        raise HttpError(404, "No such checkout.")
    snapshot.pop("type")
    return Status(200, {**snapshot, "checkout_url": _checkout_url(request, snapshot["checkout"])})


@api.post("/waitlist", response={202: s.WaitlistOut, 409: s.Error, 429: s.Error, **WRITE_ERRORS},
          url_name="waitlist", summary="Be told once when a sold-out product is back")
def waitlist(request: HttpRequest, payload: s.WaitlistIn):
    product = _product_or_404(payload.store, payload.product, payload.price)
    try:
        entry = waitlist_join(product=product, email=payload.email, buyer=request_buyer(request))
    except WaitlistRefused as refused:
        raise HttpError(409, str(refused)) from refused
    except WaitlistBusy as busy:
        raise HttpError(429, str(busy)) from busy
    # The same answer whether the address was new or already listed: the list is nobody's business.
    return Status(202, {"detail": waitlist_joined_text(product, entry.email), "store": product.store_id,
                        "product": product.stripe_product_id, "price": product.stripe_price_id,
                        "email": entry.email})


def _product_or_404(store_id: str, stripe_product_id: str, price_id: str | None) -> Product:
    return _products_or_404(store_id, [(stripe_product_id, price_id or "")])[(stripe_product_id, price_id or "")]


def _products_or_404(store_id: str, wanted: list[tuple[str, str]]) -> dict[tuple[str, str], Product]:
    """The variants asked for, by (product, price); a product in several variants needs its price (400)."""
    try:
        products = inventory_selectors.variants_in_store(store_id=store_id, wanted=wanted)
    except VariantRequired as which:
        raise HttpError(400, str(which)) from which
    missing = [f"{product} at {price}" if price else product for product, price in dict.fromkeys(wanted)
               if (product, price) not in products]
    if missing and not products and not _store_exists(store_id):
        raise HttpError(404, f"No store {store_id}.")
    if missing:
        raise HttpError(404, f"{store_id} does not stock {', '.join(missing)}.")
    return products


def _store_exists(store_id: str) -> bool:
    try:
        inventory_selectors.store_get(store_id=store_id)
    except StoreNotFound:
        return False
    return True


def _shortfalls(short: InsufficientStock, products) -> dict:
    by_pk = {p.pk: p for p in products}
    lines = [{"product": by_pk[x.product_id].stripe_product_id, "price": by_pk[x.product_id].stripe_price_id,
              "name": x.product_name, "requested": x.requested, "available": x.available} for x in short.shortfalls]
    store_name = next(iter(by_pk.values())).store.name
    detail = "; ".join(s.short_of_stock_text(name=x["name"], store_name=store_name, available=x["available"])
                       + f" (you asked for {x['requested']})" for x in lines)
    return {"detail": f"Not enough stock, nothing was reserved: {detail}.", "shortfalls": lines}


def _checkout_url(request: HttpRequest, checkout_id) -> str:
    return request.build_absolute_uri(reverse("payments:checkout_page", kwargs={"checkout_id": checkout_id}))
