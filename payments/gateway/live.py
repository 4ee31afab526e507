"""The live gateway: the one place that sends requests to Stripe (or to STRIPE_API_BASE, a stand-in).

Every call waits for the shared rate budget, is recorded (StripeCall and the log), and turns
Stripe's errors into GatewayUnavailable (try again, after Retry-After when Stripe says) or
GatewayRejected (the same request will not help).
"""

import stripe

from ..models import StripeCall
from .calls import stripe_call_record
from .errors import GatewayError, GatewayRejected, GatewayUnavailable
from .ratelimit import StripeRateLimited, stripe_rate_wait


class LiveGateway:
    mode = StripeCall.Mode.LIVE

    def __init__(self, *, api_key: str, api_version: str, api_base: str = "", timeout: float = 20.0):
        base = {"api": api_base} if api_base else None
        # Pinned (settings.STRIPE_API_VERSION): the shapes Stripe answers in do not change when the SDK does.
        self._client = stripe.StripeClient(
            api_key, stripe_version=api_version, base_addresses=base, max_network_retries=0,
            http_client=stripe.RequestsClient(timeout=timeout),
        )

    def _call(self, operation: str, target: str, send, *, params: dict | None = None, idempotency_key: str = ""):
        params = params or {}

        def record(outcome: str) -> None:
            stripe_call_record(mode=self.mode, operation=operation, target=target, params=params,
                               idempotency_key=idempotency_key, outcome=outcome)

        try:
            stripe_rate_wait()
        except StripeRateLimited as exc:
            raise GatewayUnavailable(str(exc), code="client_rate_limited") from exc
        try:
            result = send()
        except stripe.APIConnectionError as exc:
            record(f"unavailable: {exc.user_message or exc}")
            raise GatewayUnavailable(str(exc), code=getattr(exc, "code", "") or "") from exc
        except stripe.StripeError as exc:
            status = exc.http_status or 0
            record(f"error {status}: {exc.user_message or exc}")
            raise _error_for(exc, status) from exc
        record("ok")
        return result

    @staticmethod
    def _options(idempotency_key: str) -> dict:
        return {"idempotency_key": idempotency_key} if idempotency_key else {}

    def checkout_session_line_items(self, session_id: str) -> list[dict]:
        def send():
            page = self._client.v1.checkout.sessions.line_items.list(session_id, {"limit": 100})
            return [item.to_dict() for item in page.auto_paging_iter()]

        return self._call("checkout.session.line_items", session_id, send)

    def checkout_session_create(self, *, params: dict, idempotency_key: str) -> dict:
        return self._call(
            "checkout.session.create", (params.get("metadata") or {}).get("checkout", ""), params=params,
            idempotency_key=idempotency_key,
            send=lambda: self._client.v1.checkout.sessions.create(params, options=self._options(idempotency_key)).to_dict())

    def checkout_session_retrieve(self, session_id: str) -> dict:
        return self._call("checkout.session.retrieve", session_id,
                          lambda: self._client.v1.checkout.sessions.retrieve(session_id).to_dict())

    def checkout_session_expire(self, session_id: str, *, idempotency_key: str) -> dict:
        return self._call(
            "checkout.session.expire", session_id, idempotency_key=idempotency_key,
            send=lambda: self._client.v1.checkout.sessions.expire(
                session_id, options=self._options(idempotency_key)).to_dict())

    def payment_intent_retrieve(self, payment_intent_id: str) -> dict:
        return self._call("payment_intent.retrieve", payment_intent_id,
                          lambda: self._client.v1.payment_intents.retrieve(payment_intent_id).to_dict())

    def payment_intent_capture(self, payment_intent_id: str, *, idempotency_key: str) -> dict:
        return self._call(
            "payment_intent.capture", payment_intent_id, idempotency_key=idempotency_key,
            send=lambda: self._client.v1.payment_intents.capture(
                payment_intent_id, options=self._options(idempotency_key)).to_dict())

    def payment_intent_cancel(self, payment_intent_id: str, *, idempotency_key: str,
                              reason: str = "abandoned") -> dict:
        params = {"cancellation_reason": reason}
        return self._call(
            "payment_intent.cancel", payment_intent_id, params=params, idempotency_key=idempotency_key,
            send=lambda: self._client.v1.payment_intents.cancel(
                payment_intent_id, params, options=self._options(idempotency_key)).to_dict())

    def refund_create(self, *, payment_intent_id: str, idempotency_key: str, metadata: dict) -> dict:
        params = {"payment_intent": payment_intent_id, "reason": "requested_by_customer", "metadata": metadata}
        return self._call(
            "refund.create", payment_intent_id, params=params, idempotency_key=idempotency_key,
            send=lambda: self._client.v1.refunds.create(params, options=self._options(idempotency_key)).to_dict())

    def payment_intent_create(self, *, amount: int, currency: str, metadata: dict, idempotency_key: str) -> dict:
        params = {"amount": amount, "currency": currency, "capture_method": "manual", "metadata": metadata,
                  "payment_method_types": ["card"]}
        return self._call(
            "payment_intent.create", metadata.get("checkout", ""), params=params, idempotency_key=idempotency_key,
            send=lambda: self._client.v1.payment_intents.create(params, options=self._options(idempotency_key)).to_dict())

    def payment_intent_confirm(self, payment_intent_id: str, *, payment_method: str, idempotency_key: str) -> dict:
        params = {"payment_method": payment_method}
        return self._call(
            "payment_intent.confirm", payment_intent_id, params=params, idempotency_key=idempotency_key,
            send=lambda: self._client.v1.payment_intents.confirm(
                payment_intent_id, params, options=self._options(idempotency_key)).to_dict())

    # --- The catalogue (payments/catalogue): reads page by page, each page one call in the budget ---

    def product_list(self) -> list[dict]:
        """Every active product of the account."""
        return self._list_all("product.list", lambda params: self._client.v1.products.list(params).to_dict(),
                              {"active": True})

    def price_list(self) -> list[dict]:
        """Every active one-time price of the account (recurring prices are not for a booth)."""
        return self._list_all("price.list", lambda params: self._client.v1.prices.list(params).to_dict(),
                              {"active": True, "type": "one_time"})

    def payment_link_list(self) -> list[dict]:
        """Every Payment Link of the account, active or not (to find the ones a store made before)."""
        return self._list_all("payment_link.list", lambda params: self._client.v1.payment_links.list(params).to_dict(), {})

    def payment_link_create(self, *, params: dict, idempotency_key: str) -> dict:
        return self._call(
            "payment_link.create", (params.get("metadata") or {}).get("price", ""), params=params,
            idempotency_key=idempotency_key,
            send=lambda: self._client.v1.payment_links.create(params, options=self._options(idempotency_key)).to_dict())

    def event_list(self, *, types: tuple[str, ...], created_gte: int, created_lte: int) -> list[dict]:
        """The account's events of `types` created in [created_gte, created_lte] (Unix times), newest first;
        each page is one call in the rate budget. Stripe keeps events for 30 days."""
        return self._list_all("event.list", _events_as_sent(self._client.v1.events.list),
                              {"types": list(types), "created": {"gte": created_gte, "lte": created_lte}})

    def _list_all(self, operation: str, lister, params: dict) -> list[dict]:
        found, after = [], None
        while True:
            page_params = {**params, "limit": 100, **({"starting_after": after} if after else {})}
            page = self._call(operation, after or "", lambda p=page_params: lister(p), params=page_params)
            data = page.get("data") or []
            found += data
            if not page.get("has_more") or not data:
                return found
            after = data[-1]["id"]

    def payment_link_retrieve(self, payment_link_id: str) -> dict:
        return self._call("payment_link.retrieve", payment_link_id,
                          lambda: self._client.v1.payment_links.retrieve(payment_link_id).to_dict())

    def payment_link_update(self, payment_link_id: str, *, params: dict, idempotency_key: str) -> dict:
        return self._call(
            "payment_link.update", payment_link_id, params=params, idempotency_key=idempotency_key,
            send=lambda: self._client.v1.payment_links.update(
                payment_link_id, params, options=self._options(idempotency_key)).to_dict())


def _events_as_sent(lister):
    # An event is stored as Stripe sent it: the SDK's objects turn decimal strings into Decimals.
    return lambda params: lister(params).last_response.data


def _error_for(exc: "stripe.StripeError", status: int) -> GatewayError:
    """Stripe's own advice wins (Stripe-Should-Retry); else 409, 429 and 5xx are worth retrying."""
    headers = exc.headers or {}
    should_retry = str(headers.get("Stripe-Should-Retry", "")).lower()
    retryable = status >= 500 or status in (0, 409, 429)
    if should_retry in ("true", "false"):
        retryable = should_retry == "true"
    error = GatewayUnavailable if retryable else GatewayRejected
    return error(str(exc.user_message or exc), code=exc.code or "", retry_after=_retry_after(headers))


def _retry_after(headers) -> float | None:
    try:
        return max(float(headers.get("Retry-After")), 0.0)
    except (TypeError, ValueError):
        return None
