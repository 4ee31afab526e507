"""A small Stripe API stand-in that the real ``stripe`` SDK talks to over HTTP, for tests.

Stripe is unreachable from the test environment, so this serves the handful of v1 endpoints the
shop uses (checkout sessions and their line items, payment links, payment intents, refunds) from
in-memory state. Every object is built from Stripe's own published fixture shapes
(``shared/stripe/fixtures3.json``, override with ``STRIPE_FIXTURES``) so the SDK and our code see
the fields Stripe really sends; only ids, amounts, statuses and the like are overridden.

It also behaves like Stripe where tests need it to: Idempotency-Key replay, Stripe-shaped errors,
injected failures and stalls, and a request log. With ``upstream=`` set it forwards payment
paths to another fake (localstripe) while keeping its own log, faults and idempotency in front.

    with StripeStandIn() as standin:
        client = standin.sdk_client()          # or StripeClient(..., base_addresses={"api": url})
        standin.add_payment_intent("pi_1", amount=1500, status="requires_capture",
                                   capture_method="manual")
        client.v1.payment_intents.capture("pi_1")

Run ``python -m tests.stripe_standin --port 12111`` to poke at it by hand.
"""

from __future__ import annotations

import copy
import functools
import http.client
import json
import os
import re
import secrets
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

DEFAULT_FIXTURES = Path(__file__).resolve().parents[2] / "shared" / "stripe" / "fixtures3.json"
# Without ../shared beside the clone, the verbatim extract the app ships (same shapes, fewer kinds).
VENDORED_FIXTURES = Path(__file__).resolve().parents[1] / "payments" / "offline" / "data" / "stripe_shapes.json"
DEFAULT_PROXIED_PREFIXES = ("/v1/payment_intents", "/v1/refunds", "/v1/payment_methods", "/v1/charges")
CANCELABLE = ("requires_payment_method", "requires_capture", "requires_confirmation", "requires_action")


@functools.lru_cache(maxsize=None)
def _load_shapes(path: str) -> dict:
    return json.loads(Path(path).read_text())["resources"]


def shape(name: str, **overrides) -> dict:
    """A fresh copy of Stripe's fixture for ``name`` with top-level fields overridden."""
    path = os.environ.get("STRIPE_FIXTURES") or str(DEFAULT_FIXTURES if DEFAULT_FIXTURES.exists()
                                                    else VENDORED_FIXTURES)
    return {**copy.deepcopy(_load_shapes(path)[name]), **overrides}


def _token(n: int = 14) -> str:
    return secrets.token_hex(n)[:n]


class StripeError(Exception):
    """An error response in Stripe's ``{"error": {...}}`` shape.

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


def _missing(kind: str, id: str, param: str = "id") -> StripeError:
    return StripeError(404, "invalid_request_error", f"No such {kind}: '{id}'",
                       code="resource_missing", param=param)


def _invalid(param: str, message: str, code: str = "parameter_invalid") -> StripeError:
    return StripeError(400, "invalid_request_error", message, code=code, param=param, executed=False)


def _check_known(params: dict, allowed) -> None:
    for name in params:
        if name not in allowed:
            raise _invalid(name, f"Received unknown parameter: {name}", "parameter_unknown")


def _int(params: dict, name: str, *, required=False, minimum=0):
    value = params.get(name)
    if value is None:
        if required:
            raise _invalid(name, f"Missing required param: {name}.", "parameter_missing")
        return None
    if not (isinstance(value, str) and value.isdigit()) or int(value) < minimum:
        raise _invalid(name, f"Invalid integer: {value}")
    return int(value)


def _bool(value, name: str) -> bool:
    if value not in ("true", "false"):
        raise _invalid(name, f"Invalid boolean: {value}")
    return value == "true"


def _coerce(value):
    """Form values are all strings; turn Stripe's boolean spellings back into booleans."""
    if isinstance(value, dict):
        return {k: _coerce(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_coerce(v) for v in value]
    return {"true": True, "false": False}.get(value, value)


def _merge_metadata(current: dict | None, update) -> dict:
    # Stripe: metadata="" clears everything, metadata[k]="" deletes one key, others merge.
    if update == "":
        return {}
    merged = dict(current or {})
    for key, value in (update or {}).items():
        if value == "":
            merged.pop(key, None)
        else:
            merged[key] = value
    return merged


def decode_params(pairs) -> dict:
    """Stripe's form encoding (``a[b][c]=v``, ``items[0][price]=v``, ``expand[]=v``) as nested data."""
    root: dict = {}
    for key, value in pairs:
        path = re.split(r"\]?\[", key[:-1] if key.endswith("]") else key)
        node = root
        for segment in path[:-1]:
            segment = segment or str(len(node))
            if not isinstance(node.get(segment), dict):
                node[segment] = {}
            node = node[segment]
        node[path[-1] or str(len(node))] = value
    return {k: _listify(v, k) for k, v in root.items()}


def _listify(node, key):
    if not isinstance(node, dict):
        return node
    node = {k: _listify(v, k) for k, v in node.items()}
    # Metadata keys may be digits; they are still a hash, not an array.
    if node and key != "metadata" and all(k.isdigit() for k in node):
        return [node[k] for k in sorted(node, key=int)]
    return node


@dataclass
class _Fault:
    method: str
    pattern: re.Pattern
    remaining: int | None
    status: int | None = None
    code: str | None = None
    message: str | None = None
    seconds: float = 0.0


@dataclass
class _Response:
    status: int
    body: bytes
    headers: dict


_IN_FLIGHT = object()
_ROUTES = [
    ("GET", r"/v1/checkout/sessions/([^/]+)", "_get_session"),
    ("GET", r"/v1/checkout/sessions/([^/]+)/line_items", "_list_session_items"),
    ("GET", r"/v1/payment_links/([^/]+)", "_get_link"),
    ("POST", r"/v1/payment_links", "_create_link"),
    ("POST", r"/v1/payment_links/([^/]+)", "_update_link"),
    ("GET", r"/v1/payment_intents/([^/]+)", "_get_intent"),
    ("POST", r"/v1/payment_intents/([^/]+)/capture", "_capture_intent"),
    ("POST", r"/v1/payment_intents/([^/]+)/cancel", "_cancel_intent"),
    ("POST", r"/v1/refunds", "_create_refund"),
    ("GET", r"/v1/refunds", "_list_refunds"),
    ("GET", r"/v1/refunds/([^/]+)", "_get_refund"),
]


class StripeStandIn:
    def __init__(self, *, host: str = "127.0.0.1", port: int = 0, upstream: str | None = None,
                 proxied_prefixes=DEFAULT_PROXIED_PREFIXES, upstream_timeout: float = 30.0,
                 verbose: bool = False):
        self.host, self.port = host, port
        self.upstream = upstream.rstrip("/") if upstream else None
        self.proxied_prefixes = tuple(proxied_prefixes)
        self.upstream_timeout = upstream_timeout
        self.verbose = verbose
        self.base_url: str | None = None
        self._lock = threading.RLock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.reset()

    # -- lifecycle -------------------------------------------------------------------------------

    def start(self) -> str:
        self._server = _Server((self.host, self.port), _Handler)
        self._server.standin = self
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()
        self.base_url = f"http://{self.host}:{self.port}"
        return self.base_url

    def stop(self) -> None:
        if self._server:
            self._server.shutdown()
            self._server.server_close()
            self._thread.join(timeout=5)
            self._server = self._thread = None

    def __enter__(self) -> "StripeStandIn":
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def sdk_client(self, *, api_key: str = "sk_test_standin", timeout: float | None = None,
                   max_network_retries: int = 0):
        """A ``stripe.StripeClient`` pointed at this stand-in (``timeout`` is the HTTP timeout)."""
        import stripe

        http_client = stripe.RequestsClient(timeout=timeout) if timeout is not None else None
        return stripe.StripeClient(api_key, base_addresses={"api": self.base_url},
                                   max_network_retries=max_network_retries, http_client=http_client)

    # -- state -----------------------------------------------------------------------------------

    def reset(self) -> None:
        with self._lock:
            self.requests: list[dict] = []
            self._objects: dict[str, dict] = {
                "checkout.session": {}, "payment_link": {}, "payment_intent": {}, "refund": {}}
            self._session_items: dict[str, list] = {}
            self._refunded: dict[str, int] = {}
            self._idempotency: dict[str, object] = {}
            self._faults: list[_Fault] = []

    def get(self, kind: str, id: str) -> dict | None:
        """A copy of a stored object, e.g. ``get("payment_link", "plink_1")``."""
        with self._lock:
            return copy.deepcopy(self._objects[kind].get(id))

    def add_checkout_session(self, id, *, payment_intent, payment_link=None, line_items,
                             metadata=None, amount_total=None, status="complete",
                             payment_status="paid", **fields) -> dict:
        items = [self._line_item(**item) for item in line_items]
        total = sum(i["amount_total"] for i in items) if amount_total is None else amount_total
        now = int(time.time())
        session = shape(
            "checkout.session", id=id, payment_intent=payment_intent, payment_link=payment_link,
            metadata=dict(metadata or {}), amount_subtotal=total, amount_total=total,
            currency=items[0]["currency"] if items else "usd", status=status,
            payment_status=payment_status, created=now, expires_at=now + 86400,
            url=f"https://checkout.stripe.com/c/pay/{id}" if status == "open" else None,
            # The fixture's filler values here would read as real shipping costs and FX.
            shipping_cost=None, currency_conversion=None, shipping_address_collection=None,
            total_details={"amount_discount": 0, "amount_shipping": 0, "amount_tax": 0})
        session.update(fields)
        with self._lock:
            self._objects["checkout.session"][id] = session
            self._session_items[id] = items
            self._count_completed_session(session)
        return copy.deepcopy(session)

    def _count_completed_session(self, session: dict) -> None:
        """Stripe counts each completed session against its Payment Link's restriction."""
        link = self._objects["payment_link"].get(session.get("payment_link") or "")
        completed = ((link or {}).get("restrictions") or {}).get("completed_sessions")
        if session["status"] == "complete" and completed is not None:
            completed["count"] = int(completed.get("count") or 0) + 1

    def add_payment_link(self, id, *, price, url=None, active=True, completed_count=0, limit=None,
                         capture_method=None, metadata=None, inactive_message=None, quantity=1,
                         **fields) -> dict:
        link = shape(
            "payment_link", id=id, active=active, url=url or f"https://buy.stripe.com/test_{id}",
            metadata=dict(metadata or {}), inactive_message=inactive_message,
            restrictions=({"completed_sessions": {"count": completed_count, "limit": limit}}
                          if limit is not None else None),
            payment_intent_data={**shape("payment_link")["payment_intent_data"],
                                 "capture_method": capture_method, "metadata": {}},
            transfer_data=None, shipping_address_collection=None,
            # Stripe keeps line items behind a separate endpoint; "_" keys are never served.
            _line_items=[{"price": price, "quantity": quantity}])
        link.update(fields)
        with self._lock:
            self._objects["payment_link"][id] = link
        return self._public(link)

    def add_payment_intent(self, id, *, amount, currency="usd", status="succeeded",
                           capture_method="automatic", metadata=None, **fields) -> dict:
        charged = status in ("succeeded", "requires_capture")
        now = int(time.time())
        intent = shape(
            "payment_intent", id=id, amount=amount, currency=currency, status=status,
            capture_method=capture_method, metadata=dict(metadata or {}), created=now,
            amount_capturable=amount if status == "requires_capture" else 0,
            amount_received=amount if status == "succeeded" else 0,
            client_secret=f"{id}_secret_{_token(24)}",
            latest_charge=f"ch_{id.removeprefix('pi_')}" if charged else None,
            payment_method=f"pm_{id.removeprefix('pi_')}" if charged else None,
            canceled_at=now if status == "canceled" else None, cancellation_reason=None,
            last_payment_error=None, next_action=None, processing=None, shipping=None,
            transfer_data=None, automatic_payment_methods=None,
            payment_method_configuration_details=None)
        intent.update(fields)
        with self._lock:
            self._objects["payment_intent"][id] = intent
            self._refunded[id] = 0
        return copy.deepcopy(intent)

    def _line_item(self, *, price, product, quantity, unit_amount, description=None,
                   currency="usd") -> dict:
        price_obj = shape("price", id=price, product=product, unit_amount=unit_amount,
                          unit_amount_decimal=str(unit_amount), currency=currency,
                          type="one_time", recurring=None, transform_quantity=None)
        amount = unit_amount * quantity
        return shape("item", id=f"li_{_token(24)}", price=price_obj, quantity=quantity,
                     currency=currency, description=description or product,
                     amount_subtotal=amount, amount_total=amount, amount_discount=0, amount_tax=0)

    # -- fault injection and the request log ----------------------------------------------------

    def fail_next(self, method: str, path_regex: str, *, status: int = 500, times: int | None = 1,
                  code: str | None = None, message: str | None = None) -> None:
        """Answer the next ``times`` matching requests (None: all) with a Stripe-shaped error.

        The request counts as never executed: nothing changes and no idempotent result is saved.
        ``path_regex`` must match the whole path (no query string).
        """
        with self._lock:
            self._faults.append(_Fault(method.upper(), re.compile(path_regex), times,
                                       status=status, code=code, message=message))

    def stall_next(self, method: str, path_regex: str, *, seconds: float,
                   times: int | None = 1) -> None:
        """Hold back the response of the next matching requests for ``seconds``.

        The request is executed (and its idempotent result saved) first, like a response lost on
        the way back: a client that times out has still changed state, and a retry with the same
        Idempotency-Key is replayed.
        """
        with self._lock:
            self._faults.append(_Fault(method.upper(), re.compile(path_regex), times,
                                       seconds=seconds))

    def calls(self, method: str, path_regex: str) -> list[dict]:
        with self._lock:
            return [r for r in self.requests
                    if r["method"] == method.upper() and re.fullmatch(path_regex, r["path"])]

    def _take_fault(self, method: str, path: str) -> _Fault | None:
        with self._lock:
            for fault in self._faults:
                if fault.method == method and fault.pattern.fullmatch(path):
                    if fault.remaining is not None:
                        fault.remaining -= 1
                        if fault.remaining <= 0:
                            self._faults.remove(fault)
                    return fault
        return None

    # -- request handling ------------------------------------------------------------------------

    def handle(self, method: str, target: str, headers, body: bytes) -> tuple[_Response, float]:
        """Answer one HTTP request; returns the response and how long to hold it back."""
        path, _, query = target.partition("?")
        pairs = parse_qsl(query, keep_blank_values=True)
        if body and "json" not in (headers.get("Content-Type") or ""):
            pairs += parse_qsl(body.decode("utf-8"), keep_blank_values=True)
        params = decode_params(pairs)
        key = headers.get("Idempotency-Key")
        entry = {"method": method, "path": path, "params": params, "idempotency_key": key,
                 "status": None, "replayed": False, "proxied": False}
        with self._lock:
            self.requests.append(entry)
        fault = self._take_fault(method, path)
        try:
            self._authenticate(headers)
            if fault and fault.status:
                raise self._fault_error(fault)
            response = self._idempotent(method, path, params, key, entry,
                                        lambda: self._execute(method, target, path, params,
                                                              headers, body, entry))
        except StripeError as error:
            response = _json_response(error.status, error.body)
        except Exception as exc:  # a bug in the stand-in should surface as a readable 500
            response = _json_response(500, {"error": {"type": "api_error",
                                                      "message": f"stand-in crashed: {exc!r}"}})
        response.headers.setdefault("Request-Id", f"req_{_token()}")
        entry["status"] = response.status
        return response, (fault.seconds if fault else 0.0)

    def _authenticate(self, headers) -> None:
        scheme, _, api_key = (headers.get("Authorization") or "").partition(" ")
        if scheme != "Bearer" or not re.fullmatch(r"(sk|rk)_test_\w+", api_key):
            raise StripeError(401, "invalid_request_error",
                              f"Invalid API Key provided: {api_key[:8]}***", executed=False)

    @staticmethod
    def _fault_error(fault: _Fault) -> StripeError:
        if fault.status == 429:
            # Stripe reports rate limits as invalid_request_error/rate_limit; the SDK keys off 429.
            return StripeError(429, "invalid_request_error", fault.message or
                               "Request rate limit exceeded. Learn more about rate limits here "
                               "https://stripe.com/docs/rate-limits.",
                               code=fault.code or "rate_limit", executed=False)
        if fault.status == 402:
            return StripeError(402, "card_error", fault.message or "Your card was declined.",
                               code=fault.code or "card_declined", executed=False)
        kind = "api_error" if fault.status >= 500 else "invalid_request_error"
        return StripeError(fault.status, kind, fault.message or "An unknown error occurred",
                           code=fault.code, executed=False)

    def _idempotent(self, method, path, params, key, entry, execute) -> _Response:
        if method != "POST" or not key:
            return execute()[0]
        fingerprint = (method, path, json.dumps(params, sort_keys=True))
        with self._lock:
            saved = self._idempotency.get(key)
            if saved is None:
                self._idempotency[key] = _IN_FLIGHT
        if saved is _IN_FLIGHT:
            raise StripeError(409, "invalid_request_error",
                              "There is currently another in-progress request using this "
                              "Idempotent Key (that probably means you submitted twice, and the "
                              "other request is still going through): " + key + ". Please try "
                              "again later.", code="idempotency_key_in_use", executed=False)
        if saved is not None:
            saved_fingerprint, saved_response = saved
            if saved_fingerprint != fingerprint:
                raise StripeError(400, "idempotency_error",
                                  "Keys for idempotent requests can only be used with the same "
                                  f"parameters they were first used with. Try using a key other "
                                  f"than '{key}' if you meant to execute a different request.",
                                  executed=False)
            entry["replayed"] = True
            return _Response(saved_response.status, saved_response.body,
                             {**saved_response.headers, "Idempotent-Replayed": "true",
                              "Original-Request": saved_response.headers.get("Request-Id", ""),
                              "Request-Id": f"req_{_token()}"})
        response, executed = None, False
        try:
            response, executed = execute()
            return response
        finally:
            with self._lock:
                if executed:
                    self._idempotency[key] = (fingerprint, response)
                else:
                    self._idempotency.pop(key, None)

    def _execute(self, method, target, path, params, headers, body, entry):
        """Run the request; returns (response, whether Stripe would count it as executed)."""
        if self.upstream and path.startswith(self.proxied_prefixes):
            entry["proxied"] = True
            response = self._forward(method, target, headers, body)
            return response, response.status < 500 and response.status not in (401, 409, 429)
        for route_method, pattern, handler in _ROUTES:
            match = re.fullmatch(pattern, path)
            if route_method == method and match:
                try:
                    with self._lock:
                        result = getattr(self, handler)(params, *match.groups())
                except StripeError as error:
                    return _json_response(error.status, error.body), error.executed
                return _json_response(200, result), True
        raise StripeError(404, "invalid_request_error",
                          f"Unrecognized request URL ({method}: {path}).", executed=False)

    def _forward(self, method, target, headers, body) -> _Response:
        upstream = urlsplit(self.upstream)
        forwarded = {name: headers[name] for name in
                     ("Authorization", "Content-Type", "Stripe-Version", "Stripe-Account")
                     if headers.get(name)}
        conn = http.client.HTTPConnection(upstream.hostname, upstream.port,
                                          timeout=self.upstream_timeout)
        try:
            conn.request(method, upstream.path + target,
                         body=body if method == "POST" else None, headers=forwarded)
            reply = conn.getresponse()
            return _Response(reply.status, reply.read(),
                             {"Content-Type": reply.getheader("Content-Type", "application/json")})
        except OSError as exc:
            raise StripeError(502, "api_error", f"Upstream {self.upstream} failed: {exc}",
                              executed=False)
        finally:
            conn.close()

    # -- endpoints (called with the lock held) ---------------------------------------------------

    def _find(self, kind: str, id: str, param: str = "id") -> dict:
        obj = self._objects[kind].get(id)
        if obj is None:
            raise _missing(kind, id, param)
        return obj

    @staticmethod
    def _public(obj: dict) -> dict:
        return {k: copy.deepcopy(v) for k, v in obj.items() if not k.startswith("_")}

    def _page(self, items: list, params: dict, url: str) -> dict:
        _check_known(params, {"limit", "starting_after", "ending_before", "expand"})
        limit = _int(params, "limit", minimum=1)
        limit = 10 if limit is None else limit
        if limit > 100:
            raise _invalid("limit", "This value must be less than or equal to 100.")
        ids = [item["id"] for item in items]
        for cursor in ("starting_after", "ending_before"):
            if params.get(cursor) and params[cursor] not in ids:
                raise _missing("object", params[cursor], cursor)
        if params.get("starting_after"):
            rest = items[ids.index(params["starting_after"]) + 1:]
            page, has_more = rest[:limit], len(rest) > limit
        elif params.get("ending_before"):
            rest = items[:ids.index(params["ending_before"])]
            page, has_more = rest[-limit:], len(rest) > limit
        else:
            page, has_more = items[:limit], len(items) > limit
        return {"object": "list", "data": copy.deepcopy(page), "has_more": has_more, "url": url}

    def _get_session(self, params, id):
        _check_known(params, {"expand"})
        session = self._public(self._find("checkout.session", id))
        expand = params.get("expand") or []
        if "line_items" in expand:
            session["line_items"] = self._page(self._session_items[id], {"limit": "100"},
                                               f"/v1/checkout/sessions/{id}/line_items")
        if "payment_intent" in expand and session["payment_intent"] in self._objects["payment_intent"]:
            session["payment_intent"] = self._public(
                self._objects["payment_intent"][session["payment_intent"]])
        return session

    def _list_session_items(self, params, id):
        self._find("checkout.session", id)
        page = self._page(self._session_items[id], params, f"/v1/checkout/sessions/{id}/line_items")
        if "data.price.product" in (params.get("expand") or []):
            for item in page["data"]:
                price = item["price"]
                price["product"] = shape("product", id=price["product"], name=item["description"],
                                         default_price=price["id"], package_dimensions=None)
        return page

    def _get_link(self, params, id):
        _check_known(params, {"expand"})
        return self._public(self._find("payment_link", id))

    # Fields Stripe computes itself; everything else in the payment_link shape may be sent.
    _LINK_READ_ONLY = {"id", "object", "livemode", "url", "currency", "application"}

    def _apply_link_params(self, link: dict, params: dict) -> None:
        for name, value in params.items():
            if name == "active":
                link["active"] = _bool(value, name)
            elif name == "inactive_message":
                link["inactive_message"] = value or None
            elif name == "metadata":
                link["metadata"] = _merge_metadata(link.get("metadata"), value)
            elif name == "restrictions":
                if value == "":
                    link["restrictions"] = None
                    continue
                if not isinstance(value, dict):
                    raise _invalid(name, "Invalid hash")
                limit = _int(value.get("completed_sessions") or {}, "limit", required=True,
                             minimum=1)
                count = ((link.get("restrictions") or {}).get("completed_sessions") or {}).get("count", 0)
                link["restrictions"] = {"completed_sessions": {"count": count, "limit": limit}}
            elif name == "payment_intent_data":
                if not isinstance(value, dict):
                    raise _invalid(name, "Invalid hash")
                capture = value.get("capture_method")
                if capture not in (None, "automatic", "automatic_async", "manual"):
                    raise _invalid("payment_intent_data[capture_method]",
                                   f"Invalid capture_method: {capture}")
                link["payment_intent_data"] = {**link["payment_intent_data"], **_coerce(value)}
            elif name != "expand":
                link[name] = _coerce(value)

    def _create_link(self, params):
        _check_known(params, (set(shape("payment_link")) | {"line_items", "expand"})
                     - self._LINK_READ_ONLY)
        items = params.get("line_items")
        if not isinstance(items, list) or not items:
            raise _invalid("line_items", "Missing required param: line_items.", "parameter_missing")
        for index, item in enumerate(items):
            if not isinstance(item, dict) or not item.get("price"):
                raise _invalid(f"line_items[{index}][price]",
                               f"Missing required param: line_items[{index}][price].",
                               "parameter_missing")
            _int(item, "quantity", required=True, minimum=1)
        id = f"plink_{_token(24)}"
        self.add_payment_link(id, price=items[0]["price"])
        link = self._objects["payment_link"][id]
        link["_line_items"] = [{"price": i["price"], "quantity": int(i["quantity"])} for i in items]
        self._apply_link_params(link, {k: v for k, v in params.items() if k != "line_items"})
        return self._public(link)

    def _update_link(self, params, id):
        link = self._find("payment_link", id)
        _check_known(params, (set(shape("payment_link")) | {"expand"}) - self._LINK_READ_ONLY)
        updated = copy.deepcopy(link)  # validate everything before changing anything
        self._apply_link_params(updated, params)
        link.update(updated)
        return self._public(link)

    def _get_intent(self, params, id):
        _check_known(params, {"expand", "client_secret"})
        return self._public(self._find("payment_intent", id, "intent"))

    def _unexpected_state(self, intent, action, allowed) -> StripeError:
        return StripeError(
            400, "invalid_request_error",
            f"This PaymentIntent could not be {action} because it has a status of "
            f"{intent['status']}. Only a PaymentIntent with one of the following statuses may be "
            f"{action}: {', '.join(allowed)}.",
            code="payment_intent_unexpected_state", payment_intent=self._public(intent))

    def _capture_intent(self, params, id):
        _check_known(params, {"amount_to_capture", "metadata", "expand"})
        intent = self._find("payment_intent", id, "intent")
        amount = _int(params, "amount_to_capture", minimum=1)
        if intent["status"] != "requires_capture":
            raise self._unexpected_state(intent, "captured", ["requires_capture"])
        if amount is not None and amount > intent["amount_capturable"]:
            raise StripeError(400, "invalid_request_error",
                              "The amount to capture must be less than or equal to the amount "
                              "capturable.", code="amount_too_large", param="amount_to_capture")
        intent.update(status="succeeded", amount_capturable=0,
                      amount_received=intent["amount_capturable"] if amount is None else amount,
                      metadata=_merge_metadata(intent["metadata"], params.get("metadata")))
        return self._public(intent)

    def _cancel_intent(self, params, id):
        _check_known(params, {"cancellation_reason", "expand"})
        reason = params.get("cancellation_reason")
        if reason not in (None, "duplicate", "fraudulent", "requested_by_customer", "abandoned"):
            raise _invalid("cancellation_reason", f"Invalid cancellation_reason: {reason}")
        intent = self._find("payment_intent", id, "intent")
        if intent["status"] not in CANCELABLE:
            raise self._unexpected_state(intent, "canceled", CANCELABLE)
        intent.update(status="canceled", canceled_at=int(time.time()), cancellation_reason=reason,
                      amount_capturable=0)
        return self._public(intent)

    def _create_refund(self, params):
        _check_known(params, {"payment_intent", "charge", "amount", "reason", "metadata",
                              "expand", "instructions_email"})
        if params.get("reason") not in (None, "duplicate", "fraudulent", "requested_by_customer"):
            raise _invalid("reason", f"Invalid reason: {params['reason']}")
        amount = _int(params, "amount", minimum=1)
        if params.get("payment_intent"):
            intent = self._find("payment_intent", params["payment_intent"], "payment_intent")
        elif params.get("charge"):
            intent = next((pi for pi in self._objects["payment_intent"].values()
                           if pi["latest_charge"] == params["charge"]), None)
            if intent is None:
                raise _missing("charge", params["charge"], "charge")
        else:
            raise _invalid("payment_intent", "One of the following params should be provided for "
                           "this request: payment_intent or charge.", "parameter_missing")
        if intent["status"] != "succeeded":
            raise StripeError(400, "invalid_request_error",
                              f"This PaymentIntent ({intent['id']}) does not have a successful "
                              f"charge to refund (status: {intent['status']}).",
                              code="payment_intent_unexpected_state",
                              payment_intent=self._public(intent))
        remaining = intent["amount_received"] - self._refunded[intent["id"]]
        if remaining <= 0:
            raise StripeError(400, "invalid_request_error",
                              f"Charge {intent['latest_charge']} has already been refunded.",
                              code="charge_already_refunded", charge=intent["latest_charge"])
        if amount is not None and amount > remaining:
            raise StripeError(400, "invalid_request_error",
                              f"Refund amount ({amount}) is greater than unrefunded amount on "
                              f"charge ({remaining})", code="charge_already_refunded",
                              param="amount", charge=intent["latest_charge"])
        amount = remaining if amount is None else amount
        refund = shape("refund", id=f"re_{_token(24)}", amount=amount,
                       charge=intent["latest_charge"], payment_intent=intent["id"],
                       currency=intent["currency"], reason=params.get("reason"),
                       metadata=_merge_metadata({}, params.get("metadata")),
                       created=int(time.time()), status="succeeded")
        self._objects["refund"][refund["id"]] = refund
        self._refunded[intent["id"]] += amount
        return copy.deepcopy(refund)

    def _get_refund(self, params, id):
        _check_known(params, {"expand"})
        return self._public(self._find("refund", id))

    def _list_refunds(self, params):
        wanted = {k: params[k] for k in ("payment_intent", "charge") if k in params}
        refunds = [r for r in reversed(self._objects["refund"].values())  # newest first
                   if all(r[k] == v for k, v in wanted.items())]
        paging = {k: v for k, v in params.items() if k not in wanted}
        return self._page(refunds, paging, "/v1/refunds")


def _json_response(status: int, body: dict) -> _Response:
    return _Response(status, json.dumps(body, indent=2).encode(),
                     {"Content-Type": "application/json"})


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False  # stalled handlers must not hold up stop()
    standin: StripeStandIn


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    server_version = "StripeStandIn/1.0"

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        response, pause = self.server.standin.handle(self.command, self.path, self.headers, body)
        if pause:
            time.sleep(pause)
        try:
            self.send_response(response.status)
            for name, value in response.headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(response.body)))
            self.end_headers()
            self.wfile.write(response.body)
        except OSError:
            pass  # the client gave up (timed out) while we stalled; that is the point

    do_GET = do_POST = do_DELETE = _serve

    def log_message(self, format, *args) -> None:
        if self.server.standin.verbose:
            super().log_message(format, *args)


def main(argv=None) -> None:
    import argparse

    parser = argparse.ArgumentParser(description="Run the Stripe stand-in in the foreground.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=12111)
    parser.add_argument("--upstream", help="forward payment paths here, e.g. a localstripe URL")
    args = parser.parse_args(argv)
    standin = StripeStandIn(host=args.host, port=args.port, upstream=args.upstream, verbose=True)
    print(f"Stripe stand-in on {standin.start()} (Ctrl-C to stop)", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        standin.stop()


if __name__ == "__main__":
    main()
