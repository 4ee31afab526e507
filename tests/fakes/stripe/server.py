"""The fake's HTTP side: a threaded server the real ``stripe`` SDK talks to, and what stands between a
request and a resource handler: the API key, the rate limit (off by default), the spec check, injected
faults, Idempotency-Key replay, latency (off by default), the request log.

    with StripeFake() as fake:
        client = fake.sdk_client()       # or StripeClient(key, base_addresses={"api": fake.base_url})
        fake.add_price("price_tee", product="prod_tee", unit_amount=2500)
        session = client.v1.checkout.sessions.create({...})
"""

from __future__ import annotations

import contextlib
import json
import re
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl

from . import spec
from .catalogue import Catalogue
from .checkout_sessions import CheckoutSessions
from .errors import StripeError, unrecognized_url
from .forms import decode_params, decode_tree
from .pacing import Latency, RateLimit, rate_limited
from .payment_intents import PaymentIntents
from .payment_links import PaymentLinks
from .refunds import Refunds
from .stripe_events import Events
from .shapes import token

RESOURCES = (CheckoutSessions, PaymentLinks, PaymentIntents, Refunds, Catalogue, Events)
_IN_FLIGHT = object()


@dataclass
class _Fault:
    method: str
    pattern: re.Pattern
    remaining: int | None
    status: int | None = None
    code: str | None = None
    message: str | None = None
    seconds: float = 0.0

    def error(self) -> StripeError:
        if self.status == 429:
            return rate_limited(self.message, self.code)
        if self.status == 402:
            return StripeError(402, "card_error", self.message or "Your card was declined.",
                               code=self.code or "card_declined", executed=False)
        kind = "api_error" if self.status >= 500 else "invalid_request_error"
        return StripeError(self.status, kind, self.message or "An unknown error occurred", code=self.code,
                           executed=False)


@dataclass
class _Response:
    status: int
    body: bytes
    headers: dict


def _json_response(status: int, body: dict) -> _Response:
    return _Response(status, json.dumps(body, indent=2).encode(), {"Content-Type": "application/json"})


class StripeFake(*RESOURCES):
    """Stripe's API for tests, in memory. See the package docstring for what it serves."""

    def __init__(self, *, host: str = "127.0.0.1", port: int = 0, verbose: bool = False):
        if not spec.available():
            raise RuntimeError(f"Stripe's OpenAPI spec is not at {spec.spec_path()}: the fake checks every request "
                               "against it (put ../shared beside the clone, or set STRIPE_SPEC)")
        self.host, self.port, self.verbose = host, port, verbose
        self.base_url: str | None = None
        self._lock = threading.RLock()
        self._routes = self.routes()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.reset()

    # -- lifecycle -------------------------------------------------------------------------------

    def start(self) -> str:
        self._server = _Server((self.host, self.port), _Handler)
        self._server.fake = self
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True)
        self._thread.start()
        self.base_url = f"http://{self.host}:{self.port}"
        return self.base_url

    def stop(self) -> None:
        if self._server:
            self._server.shutdown()
            self._server.server_close()
            self._thread.join(timeout=5)
            self._server = self._thread = None

    def __enter__(self) -> StripeFake:
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def sdk_client(self, *, api_key: str = "sk_test_fake", timeout: float | None = None,
                   max_network_retries: int = 0):
        """A ``stripe.StripeClient`` pointed at this fake (``timeout`` is the HTTP timeout)."""
        import stripe

        http_client = stripe.RequestsClient(timeout=timeout) if timeout is not None else None
        return stripe.StripeClient(api_key, base_addresses={"api": self.base_url},
                                   max_network_retries=max_network_retries, http_client=http_client)

    def reset(self) -> None:
        """Forget every object, request, violation, fault and idempotent result."""
        with self._lock:
            self.requests: list[dict] = []
            self.violations: list[dict] = []
            self._violations_reported = 0
            self._forget_objects()
            self._sessions_without_url = 0
            self._payment_methods = {}
            self._idempotency: dict[str, object] = {}
            self._faults: list[_Fault] = []
            self._latencies: list[Latency] = []
            self._rate_limit: RateLimit | None = None

    # -- faults, the request log, spec violations ----------------------------------------------

    def fail_next(self, method: str, path_regex: str, *, status: int = 500, times: int | None = 1,
                  code: str | None = None, message: str | None = None) -> None:
        """Answer the next ``times`` matching requests (None: all) with a Stripe-shaped error.

        The request counts as never executed: nothing changes and no idempotent result is saved.
        ``path_regex`` must match the whole path (no query string).
        """
        with self._lock:
            self._faults.append(_Fault(method.upper(), re.compile(path_regex), times, status=status, code=code,
                                       message=message))

    def stall_next(self, method: str, path_regex: str, *, seconds: float, times: int | None = 1) -> None:
        """Hold back the response of the next matching requests for ``seconds``.

        The request is executed (and its idempotent result saved) first, like a response lost on
        the way back: a client that times out has still changed state, and a retry with the same
        Idempotency-Key is replayed.
        """
        with self._lock:
            self._faults.append(_Fault(method.upper(), re.compile(path_regex), times, seconds=seconds))

    def add_latency(self, method: str, path_regex: str, *, seconds: float, jitter: float = 0.0) -> None:
        """From now on, answer matching requests (``method`` "*" for any) after ``seconds`` ± ``jitter``,
        as real Stripe takes its time; the first matching rule applies. ``reset()`` ends it."""
        with self._lock:
            self._latencies.append(Latency(method.upper(), re.compile(path_regex), seconds, jitter))

    def limit_rate(self, per_second: float | None, *, burst: float | None = None) -> None:
        """Answer 429 (Stripe's rate_limit error, not executed) to requests past ``per_second`` (a
        token bucket holding ``burst``, default one second's worth); None lifts the limit."""
        with self._lock:
            self._rate_limit = RateLimit(per_second, burst) if per_second else None

    def clear_faults(self) -> None:
        """End every fault now (one with ``times=None`` lasts until then)."""
        with self._lock:
            self._faults.clear()

    def calls(self, method: str, path_regex: str) -> list[dict]:
        """Logged requests (``method``, ``path``, ``params`` as sent, ``idempotency_key``, ``stripe_version``,
        ``status``, ``replayed``) whose path matches ``path_regex`` whole."""
        with self._lock:
            return [r for r in self.requests if r["method"] == method.upper() and re.fullmatch(path_regex, r["path"])]

    @contextlib.contextmanager
    def expect_violation(self, param: str | None = None):
        """For a test that sends what Stripe refuses on purpose: the block must cause a spec violation
        (naming ``param``, if given), which is then taken off ``violations``."""
        with self._lock:
            start = len(self.violations)
        yield
        with self._lock:
            expected = [v for v in self.violations[start:] if param is None or v["param"] == param]
            for violation in expected:
                self.violations.remove(violation)
        assert expected, f"expected a request Stripe's spec refuses{f' (param {param})' if param else ''}; none came"

    def unreported_violations(self) -> list[dict]:
        """The violations recorded since this was last asked (each is handed out once)."""
        with self._lock:
            new = self.violations[self._violations_reported:]
            self._violations_reported = len(self.violations)
            return new

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
        key = headers.get("Idempotency-Key")
        entry = {"method": method, "path": path, "params": decode_params(pairs), "idempotency_key": key,
                 "stripe_version": headers.get("Stripe-Version"), "status": None, "replayed": False}
        with self._lock:
            self.requests.append(entry)
        fault = None
        try:
            self._authenticate(headers)
            if self._rate_limit is not None and not self._rate_limit.admit():
                raise rate_limited()
            handler, args, params = self._route(method, path, pairs, entry)
            fault = self._take_fault(method, path)
            if fault and fault.status:
                raise fault.error()
            response = self._idempotent(key, entry, lambda: self._execute(handler, params, args))
        except StripeError as error:
            response = _json_response(error.status, error.body)
        except Exception as exc:  # a bug in the fake should surface as a readable 500
            response = _json_response(500, {"error": {"type": "api_error", "message": f"the fake crashed: {exc!r}"}})
        response.headers.setdefault("Request-Id", f"req_{token()}")
        entry["status"] = response.status
        return response, (fault.seconds if fault else 0.0) + self._latency(method, path)

    def _latency(self, method: str, path: str) -> float:
        with self._lock:
            rule = next((r for r in self._latencies if r.matches(method, path)), None)
        return rule.draw() if rule else 0.0

    @staticmethod
    def _authenticate(headers) -> None:
        scheme, _, api_key = (headers.get("Authorization") or "").partition(" ")
        if scheme != "Bearer" or not re.fullmatch(r"(sk|rk)_test_\w+", api_key):
            raise StripeError(401, "invalid_request_error", f"Invalid API Key provided: {api_key[:8]}***",
                              executed=False)

    def _route(self, method: str, path: str, pairs: list, entry: dict) -> tuple[str, tuple, dict]:
        """The handler, path ids and typed parameters; a request Stripe's spec refuses is recorded
        as a violation and answered as Stripe answers it."""
        try:
            op = spec.spec().operation(method, path)
            params = spec.spec().check_params(op, decode_tree(pairs))
        except spec.SpecError as error:
            self._record_violation(entry, error)
            raise error.as_stripe_error() from None
        handler = self._routes.get((method, op.template))
        if handler is None:  # a real Stripe endpoint this fake does not serve (yet)
            raise unrecognized_url(method, path, f" (Stripe serves {method} {op.template}; the fake does not.)")
        return handler, tuple(op.path_params.values()), params

    def _record_violation(self, entry: dict, error: spec.SpecError) -> None:
        violation = {"method": entry["method"], "path": entry["path"], "param": error.param,
                     "message": error.message, "params": entry["params"]}
        with self._lock:
            self.violations.append(violation)
        if self.verbose:
            print(f"spec violation: {describe_violation(violation)}", flush=True)

    def _execute(self, handler: str, params: dict, args: tuple) -> tuple[_Response, bool]:
        """Run the handler; returns (response, whether Stripe would count it as executed)."""
        try:
            with self._lock:
                result = getattr(self, handler)(params, *args)
        except StripeError as error:
            return _json_response(error.status, error.body), error.executed
        return _json_response(200, result), True

    def _idempotent(self, key: str | None, entry: dict, execute) -> _Response:
        if entry["method"] != "POST" or not key:
            return execute()[0]
        fingerprint = (entry["method"], entry["path"], json.dumps(entry["params"], sort_keys=True))
        with self._lock:
            saved = self._idempotency.get(key)
            if saved is None:
                self._idempotency[key] = _IN_FLIGHT
        if saved is _IN_FLIGHT:
            raise StripeError(409, "invalid_request_error",
                              "There is currently another in-progress request using this Idempotent Key (that "
                              "probably means you submitted twice, and the other request is still going through): "
                              f"{key}. Please try again later.", code="idempotency_key_in_use", executed=False)
        if saved is not None:
            saved_fingerprint, saved_response = saved
            if saved_fingerprint != fingerprint:
                raise StripeError(400, "idempotency_error",
                                  "Keys for idempotent requests can only be used with the same parameters they were "
                                  f"first used with. Try using a key other than '{key}' if you meant to execute a "
                                  "different request.", executed=False)
            entry["replayed"] = True
            return _Response(saved_response.status, saved_response.body,
                             {**saved_response.headers, "Idempotent-Replayed": "true",
                              "Original-Request": saved_response.headers.get("Request-Id", ""),
                              "Request-Id": f"req_{token()}"})
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


def describe_violation(violation: dict) -> str:
    return (f"{violation['method']} {violation['path']}: {violation['message']} "
            f"(sent {json.dumps(violation['params'], sort_keys=True)})")


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False  # stalled handlers must not hold up stop()
    fake: StripeFake


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    server_version = "StripeFake/1.0"

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        response, pause = self.server.fake.handle(self.command, self.path, self.headers, body)
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
        if self.server.fake.verbose:
            super().log_message(format, *args)
