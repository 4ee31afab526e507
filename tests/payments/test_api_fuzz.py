"""Property-based bad input against the JSON API: always a 4xx with a readable detail, never a 5xx,
and nothing changes (no hold, no checkout, no waitlist entry, no Stripe call, stock as it was).

Each generated request is bad by construction: a valid body with at least one field broken,
removed or added, or a body that is not a JSON object at all. Last, schemathesis generates
requests from /api/openapi.json itself (valid and invalid) and checks each answer against it.
"""

import json
from urllib.parse import quote

import pytest
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from inventory.models import Product, Reservation, StockMovement, WaitlistEntry
from payments.models import Checkout, StripeCall

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("stripe_offline")]

FUZZ = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
STOCK = 3

# Strings that most often slip through: NUL (PostgreSQL refuses it), lone surrogates (not encodable),
# near-misses of real ids, whitespace, very long and non-ASCII ones.
TRICKY = ["", " ", "\x00", "prod_Hoodie\x00", "store_T\x00", "\ud800", "prod_\udfff", "a@b.c\x00",
          "fan@ex\ud800ample.com", "fan@exämple.com", "fan@example.com\n", "prod_Hoodie ", " prod_Hoodie",
          "PROD_HOODIE", "store_", "1e3", "1", "-1", "true", "null", "NaN", "' OR 1=1 --", "%00", "😀" * 40,
          "x" * 10_000]
ODD_VALUES = TRICKY + [None, True, False, 0, -1, 1.5, 0.0, 1000.5, 1e308, float("inf"), float("nan"), 10 ** 40,
                       1001, [], {}, [1], ["prod_Hoodie"], {"a": 1}]
tricky_strings = st.sampled_from(TRICKY)
json_scalars = (tricky_strings | st.none() | st.booleans() | st.integers()
                | st.integers(min_value=-(10 ** 30), max_value=10 ** 30) | st.floats() | st.text(max_size=80)
                | st.text(min_size=65, max_size=3000))
json_values = st.recursive(json_scalars, lambda children: st.lists(children, max_size=5)
                           | st.dictionaries(st.text(max_size=10), children, max_size=5), max_leaves=20)
# 2.0 is a whole number (JSON has one number type), so only other floats are bad quantities.
bad_quantities = (st.integers(max_value=0) | st.integers(min_value=1001)
                  | st.floats().filter(lambda f: not (f.is_integer() and 1 <= f <= 1000))
                  | st.booleans() | st.none() | st.text(max_size=10) | st.lists(st.integers(), max_size=3)
                  | st.dictionaries(st.text(), st.integers(), max_size=2))


def _not_an_email(value) -> bool:
    if not isinstance(value, str):
        return True
    try:
        value.encode("utf-8")  # a lone surrogate is no address, whatever the regex says
        validate_email(value)
    except (ValidationError, UnicodeEncodeError):
        return True
    return False


bad_emails = (tricky_strings | st.emails().map(lambda e: e + "\x00") | st.emails().map(lambda e: " " + e)
              | st.text(max_size=40) | json_values).filter(_not_an_email)


@pytest.fixture
def shop(make_store, make_product):
    store = make_store(name="Hall A")
    product = make_product(store=store, name="Hoodie", inventory=STOCK, stripe_product_id="prod_Hoodie")
    make_product(store=make_store(name="Hall B"), name="Hoodie", inventory=5,
                 stripe_product_id="prod_Hoodie")
    return product


def _world() -> tuple:
    return (Reservation.objects.count(), Checkout.objects.count(), WaitlistEntry.objects.count(),
            StockMovement.objects.count(), StripeCall.objects.count(),
            tuple(Product.objects.order_by("pk").values_list("inventory", flat=True)))


def _assert_refused(response, before: tuple) -> None:
    assert 400 <= response.status_code < 500, (response.status_code, response.content[:500])
    body = response.json()
    assert isinstance(body, dict) and isinstance(body.get("detail"), str) and body["detail"]
    assert _world() == before


def _post(client, url: str, body) -> object:
    data = body if isinstance(body, bytes) else json.dumps(body)
    return client.post(url, data=data, content_type="application/json")


@st.composite
def broken(draw, valid: dict, bad: dict):
    """`valid` with at least one field replaced by a bad value, dropped, or joined by an unknown one."""
    body = dict(valid)
    # Mostly one broken field, so the others are valid and the broken one reaches as far as it can.
    count = draw(st.sampled_from([1, 1, 1, len(bad)]))
    fields = draw(st.lists(st.sampled_from(sorted(bad)), min_size=count, max_size=count, unique=True))
    for field in fields:
        action = draw(st.sampled_from(["replace", "replace", "drop", "extra"]))
        if action == "replace":
            body[field] = draw(bad[field])
        elif action == "drop":
            body.pop(field)
        else:
            body[draw(st.text(min_size=1, max_size=12).filter(lambda k: k not in valid))] = draw(json_values)
    return body


def _other_than(*values):
    """Anything but these: often well-formed ids that name nothing (so the lookups run), else any JSON."""
    well_formed = st.from_regex(r"\Astore_[A-Za-z0-9]{1,20}\Z") | st.from_regex(r"\Aprod_[A-Za-z0-9_-]{1,20}\Z")
    return st.one_of(well_formed, tricky_strings, st.text(max_size=30), json_values).filter(lambda v: v not in values)


# --- POST /api/stock-check -------------------------------------------------------------------------

@FUZZ
@given(data=st.data())
def test_stock_check_refuses_bad_fields(client, shop, data):
    valid = {"store": shop.store_id, "product": shop.stripe_product_id, "quantity": 1}
    body = data.draw(broken(valid, {"store": _other_than(shop.store_id), "product": _other_than("prod_Hoodie"),
                                    "quantity": bad_quantities}))
    before = _world()
    _assert_refused(_post(client, "/api/stock-check", body), before)


# --- POST /api/checkouts ----------------------------------------------------------------------------

def _bad_lines(product_id: str):
    good_line = {"product": product_id, "quantity": 1}
    bad_line = broken(good_line, {"product": _other_than(product_id), "quantity": bad_quantities})
    too_many = st.fixed_dictionaries({"product": st.just(product_id),
                                      "quantity": st.integers(min_value=STOCK + 1, max_value=1000)})
    return (json_values.filter(lambda v: not isinstance(v, list))
            | st.just([])
            | st.lists(st.just(good_line), min_size=21, max_size=40)
            | st.lists(st.just(good_line), max_size=3).flatmap(
                lambda goods: st.lists(bad_line | too_many | json_scalars, min_size=1, max_size=3).map(
                    lambda bads: goods + bads)))


@FUZZ
@given(data=st.data())
def test_checkout_refuses_bad_fields_and_holds_nothing(client, shop, data):
    valid = {"store": shop.store_id, "lines": [{"product": "prod_Hoodie", "quantity": 1}],
             "email": "buyer@example.com"}
    body = data.draw(broken(valid, {"store": _other_than(shop.store_id), "lines": _bad_lines("prod_Hoodie"),
                                    "email": bad_emails.filter(lambda v: v is not None)}))
    if body.keys() == valid.keys() - {"email"}:
        body["email"] = "not an e-mail"  # dropping only the optional e-mail would leave a valid request
    before = _world()
    _assert_refused(_post(client, "/api/checkouts", body), before)


# --- POST /api/waitlist ------------------------------------------------------------------------------

@FUZZ
@given(data=st.data())
def test_waitlist_refuses_bad_fields(client, shop, data):
    valid = {"store": shop.store_id, "product": "prod_Hoodie", "email": "fan@example.com"}
    body = data.draw(broken(valid, {"store": _other_than(shop.store_id), "product": _other_than("prod_Hoodie"),
                                    "email": bad_emails}))
    before = _world()
    _assert_refused(_post(client, "/api/waitlist", body), before)


# --- Every field with every odd value, one at a time (deterministic: the cases known to bite) --------

VALID = {
    "/api/stock-check": lambda shop: {"store": shop.store_id, "product": "prod_Hoodie", "quantity": 1},
    "/api/checkouts": lambda shop: {"store": shop.store_id, "lines": [{"product": "prod_Hoodie", "quantity": 1}],
                                    "email": "buyer@example.com"},
    "/api/waitlist": lambda shop: {"store": shop.store_id, "product": "prod_Hoodie", "email": "fan@example.com"},
}


@pytest.mark.parametrize("url, path", [
    ("/api/stock-check", ["store"]), ("/api/stock-check", ["product"]), ("/api/stock-check", ["quantity"]),
    ("/api/checkouts", ["store"]), ("/api/checkouts", ["lines", 0, "product"]),
    ("/api/checkouts", ["lines", 0, "quantity"]), ("/api/checkouts", ["email"]), ("/api/checkouts", ["lines", 0]),
    ("/api/waitlist", ["store"]), ("/api/waitlist", ["product"]), ("/api/waitlist", ["email"]),
])
def test_each_field_refuses_each_odd_value(client, shop, url, path):
    for value in ODD_VALUES:
        if path[-1] == "email" and (not _not_an_email(value) or (value is None and url == "/api/checkouts")):
            continue  # a valid address (or, for a checkout, none): not a bad input
        body = VALID[url](shop)
        parent = body
        for key in path[:-1]:
            parent = parent[key]
        parent[path[-1]] = value
        before = _world()
        response = _post(client, url, body)
        assert 400 <= response.status_code < 500, (path, value, response.status_code, response.content[:300])
        _assert_refused(response, before)


# --- Bodies that are not a JSON object, and checkout ids that are not ours ------------------------------

garbage_bodies = (st.binary(max_size=300) | json_values.filter(lambda v: not isinstance(v, dict))
                  | st.text(max_size=200).map(str.encode) | st.just(b"") | st.just(b"{")
                  | st.just(b'{"store": NaN}') | st.just(b"[" * 5000))


@FUZZ
@given(url=st.sampled_from(["/api/stock-check", "/api/checkouts", "/api/waitlist"]), body=garbage_bodies)
def test_garbage_bodies_are_refused(client, shop, url, body):
    before = _world()
    _assert_refused(_post(client, url, body), before)


@FUZZ
@given(checkout_id=st.text(min_size=1, max_size=80).filter(lambda t: "/" not in t and t not in (".", "..")))
def test_checkout_status_of_ids_that_are_not_ours_is_404(client, shop, checkout_id):
    before = _world()
    response = client.get("/api/checkouts/" + quote(checkout_id, safe=""))
    assert response.status_code == 404
    _assert_refused(response, before)



# --- The published contract: schemathesis against /api/openapi.json ------------------------------------

try:
    import schemathesis
except ImportError:  # a dev dependency; the hand-written properties above stand without it
    schemathesis = None


@pytest.fixture
def wsgi_calls_keep_the_test_connection():
    """Called in-process, the WSGI handler would close the connection the test's transaction runs
    on after each request; Django's test client disconnects the same handlers."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def hall_a_hoodie(make_store, make_product):
    # The schema's own examples name this product, so some generated requests succeed.
    return make_product(store=make_store(store_id="store_HallA", name="Hall A"), name="Hoodie",
                        inventory=STOCK, stripe_product_id="prod_Hoodie", link=False)


if schemathesis is not None:
    openapi = schemathesis.openapi.from_wsgi("/api/openapi.json", get_wsgi_application())

    @openapi.parametrize()
    @settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
    def test_api_keeps_to_its_openapi_schema(case, hall_a_hoodie, wsgi_calls_keep_the_test_connection):
        """No 5xx, only documented statuses and bodies, invalid input refused, valid input not."""
        case.call_and_validate()
