"""The one module that talks to Stripe. Everything else calls these functions with ids.

With STRIPE_SECRET_KEY set, calls go to Stripe (or to STRIPE_API_BASE, e.g. a local emulator).
Without it the gateway is offline: like Django's console e-mail backend it records each call it
would have made (StripeCall, mode=offline, and the log) and answers from its own notebook of
objects, never claiming to have reached Stripe.
"""

import logging
import time
import uuid
from functools import lru_cache

import stripe
from django.conf import settings
from django.db import transaction

from .models import OfflineStripeObject, StripeCall

log = logging.getLogger(__name__)


OFFLINE_DECLINING_CARDS = {"pm_card_chargeDeclined", "pm_card_visa_chargeDeclined", "pm_card_chargeCustomerFail"}


class GatewayError(Exception):
    def __init__(self, message: str, *, code: str = ""):
        super().__init__(message)
        self.code = code


class GatewayUnavailable(GatewayError):
    """Stripe could not answer (network, timeout, 5xx, rate limit): try again later."""


class GatewayRejected(GatewayError):
    """Stripe answered no (4xx): retrying the same request will not help."""


def _record(mode: str, operation: str, target: str, params: dict, idempotency_key: str, outcome: str) -> None:
    StripeCall.objects.create(mode=mode, operation=operation, target=target, params=params,
                              idempotency_key=idempotency_key, outcome=outcome[:255])
    log.info("stripe[%s] %s %s key=%s -> %s", mode, operation, target, idempotency_key or "-", outcome)


class LiveGateway:
    mode = StripeCall.Mode.LIVE

    def __init__(self, *, api_key: str, api_base: str = "", timeout: float = 20.0):
        base = {"api": api_base} if api_base else None
        self._client = stripe.StripeClient(
            api_key, base_addresses=base, max_network_retries=0,
            http_client=stripe.RequestsClient(timeout=timeout),
        )

    def _call(self, operation: str, target: str, send, *, params: dict | None = None, idempotency_key: str = ""):
        params = params or {}
        try:
            result = send()
        except (stripe.APIConnectionError, stripe.RateLimitError) as exc:
            _record(self.mode, operation, target, params, idempotency_key, f"unavailable: {exc.user_message or exc}")
            raise GatewayUnavailable(str(exc), code=getattr(exc, "code", "") or "") from exc
        except stripe.StripeError as exc:
            status = exc.http_status or 0
            _record(self.mode, operation, target, params, idempotency_key, f"error {status}: {exc.user_message or exc}")
            error = GatewayUnavailable if status >= 500 or status in (0, 409) else GatewayRejected
            raise error(str(exc.user_message or exc), code=exc.code or "") from exc
        _record(self.mode, operation, target, params, idempotency_key, "ok")
        return result

    @staticmethod
    def _options(idempotency_key: str) -> dict:
        return {"idempotency_key": idempotency_key} if idempotency_key else {}

    def checkout_session_line_items(self, session_id: str) -> list[dict]:
        def send():
            page = self._client.v1.checkout.sessions.line_items.list(session_id, {"limit": 100})
            return [item.to_dict() for item in page.auto_paging_iter()]

        return self._call("checkout.session.line_items", session_id, send)

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

    def payment_link_retrieve(self, payment_link_id: str) -> dict:
        return self._call("payment_link.retrieve", payment_link_id,
                          lambda: self._client.v1.payment_links.retrieve(payment_link_id).to_dict())

    def payment_link_update(self, payment_link_id: str, *, params: dict, idempotency_key: str) -> dict:
        return self._call(
            "payment_link.update", payment_link_id, params=params, idempotency_key=idempotency_key,
            send=lambda: self._client.v1.payment_links.update(
                payment_link_id, params, options=self._options(idempotency_key)).to_dict())


class OfflineGateway:
    """Records what it would send; answers from OfflineStripeObject, in Stripe's shapes."""

    mode = StripeCall.Mode.OFFLINE

    def _note(self, operation: str, target: str, params: dict | None = None, idempotency_key: str = "",
              outcome: str = "recorded, not sent") -> None:
        _record(self.mode, operation, target, params or {}, idempotency_key, outcome)

    def _get(self, object_id: str) -> dict:
        row = OfflineStripeObject.objects.filter(pk=object_id).first()
        if row is None:
            raise GatewayRejected(f"Offline: no {object_id!r} in the offline notebook.", code="resource_missing")
        return row.data

    def _put(self, data: dict) -> dict:
        OfflineStripeObject.objects.update_or_create(pk=data["id"], defaults={"object": data["object"], "data": data})
        return data

    def checkout_session_line_items(self, session_id: str) -> list[dict]:
        self._note("checkout.session.line_items", session_id, outcome="answered from offline notebook")
        return self._get(session_id).get("line_items", {}).get("data", [])

    def payment_intent_retrieve(self, payment_intent_id: str) -> dict:
        self._note("payment_intent.retrieve", payment_intent_id, outcome="answered from offline notebook")
        return self._get(payment_intent_id)

    def payment_intent_capture(self, payment_intent_id: str, *, idempotency_key: str) -> dict:
        with transaction.atomic():
            intent = self._get(payment_intent_id)
            if intent["status"] != "requires_capture":
                raise GatewayRejected(f"Offline: cannot capture a {intent['status']} PaymentIntent.",
                                      code="payment_intent_unexpected_state")
            self._note("payment_intent.capture", payment_intent_id, idempotency_key=idempotency_key)
            return self._put({**intent, "status": "succeeded", "amount_received": intent["amount"]})

    def payment_intent_cancel(self, payment_intent_id: str, *, idempotency_key: str,
                              reason: str = "abandoned") -> dict:
        with transaction.atomic():
            intent = self._get(payment_intent_id)
            if intent["status"] == "canceled":
                return intent
            if intent["status"] in ("succeeded", "processing"):
                raise GatewayRejected(f"Offline: cannot cancel a {intent['status']} PaymentIntent.",
                                      code="payment_intent_unexpected_state")
            self._note("payment_intent.cancel", payment_intent_id, {"cancellation_reason": reason}, idempotency_key)
            return self._put({**intent, "status": "canceled", "cancellation_reason": reason})

    def refund_create(self, *, payment_intent_id: str, idempotency_key: str, metadata: dict) -> dict:
        with transaction.atomic():
            refund_id = "re_offline_" + uuid.uuid5(uuid.NAMESPACE_URL, idempotency_key).hex[:20]
            existing = OfflineStripeObject.objects.filter(pk=refund_id).first()
            if existing:  # same idempotency key: the same refund, as Stripe would replay it
                return existing.data
            intent = self._get(payment_intent_id)
            self._note("refund.create", payment_intent_id, {"payment_intent": payment_intent_id,
                                                            "metadata": metadata}, idempotency_key)
            return self._put({"id": refund_id, "object": "refund", "amount": intent.get("amount", 0),
                              "currency": intent.get("currency", "usd"), "payment_intent": payment_intent_id,
                              "status": "succeeded", "metadata": metadata})

    def payment_intent_create(self, *, amount: int, currency: str, metadata: dict, idempotency_key: str) -> dict:
        from .shapes import stripe_shape

        intent_id = "pi_offline_" + uuid.uuid5(uuid.NAMESPACE_URL, idempotency_key).hex[:20]
        existing = OfflineStripeObject.objects.filter(pk=intent_id).first()
        if existing:  # same idempotency key: the same PaymentIntent, as Stripe would replay it
            return existing.data
        self._note("payment_intent.create", metadata.get("checkout", ""), {"amount": amount, "currency": currency,
                                                                           "metadata": metadata}, idempotency_key)
        return self._put(stripe_shape(
            "payment_intent", id=intent_id, amount=amount, currency=currency, capture_method="manual",
            metadata=metadata, status="requires_payment_method", client_secret=f"{intent_id}_secret_offline",
            amount_capturable=0, amount_received=0, last_payment_error=None, next_action=None,
            created=int(time.time())))

    def payment_intent_confirm(self, payment_intent_id: str, *, payment_method: str, idempotency_key: str) -> dict:
        """Offline test cards, as in Stripe test mode: pm_card_visa authorises, pm_card_chargeDeclined fails."""
        with transaction.atomic():
            intent = self._get(payment_intent_id)
            if intent["status"] not in ("requires_payment_method", "requires_confirmation"):
                return intent
            self._note("payment_intent.confirm", payment_intent_id, {"payment_method": payment_method},
                       idempotency_key)
            if payment_method in OFFLINE_DECLINING_CARDS:
                error = {"type": "card_error", "code": "card_declined", "message": "Your card was declined."}
                return self._put({**intent, "status": "requires_payment_method", "last_payment_error": error})
            return self._put({**intent, "status": "requires_capture", "payment_method": payment_method,
                              "amount_capturable": intent["amount"], "last_payment_error": None})

    def payment_link_retrieve(self, payment_link_id: str) -> dict:
        self._note("payment_link.retrieve", payment_link_id, outcome="answered from offline notebook")
        return self._get(payment_link_id)

    def payment_link_update(self, payment_link_id: str, *, params: dict, idempotency_key: str) -> dict:
        with transaction.atomic():
            link = self._get(payment_link_id)
            self._note("payment_link.update", payment_link_id, params, idempotency_key)
            updated = {**link, **{k: v for k, v in params.items() if k != "restrictions"}}
            if "restrictions" in params:
                limit = params["restrictions"]["completed_sessions"]["limit"]
                count = (link.get("restrictions") or {}).get("completed_sessions", {}).get("count", 0)
                updated["restrictions"] = {"completed_sessions": {"count": count, "limit": limit}}
            return self._put(updated)

    def notebook_put(self, data: dict) -> dict:
        """Let the offline simulator (simulate_purchase, seed_demo) place objects Stripe would hold."""
        return self._put(data)


def get_gateway() -> LiveGateway | OfflineGateway:
    return _gateway(settings.STRIPE_SECRET_KEY, settings.STRIPE_API_BASE, settings.STRIPE_TIMEOUT_SECONDS)


@lru_cache(maxsize=4)
def _gateway(api_key: str, api_base: str, timeout: float):
    if not api_key:
        return OfflineGateway()
    return LiveGateway(api_key=api_key, api_base=api_base, timeout=timeout)


def webhook_signature_header(payload: str, secret: str, timestamp: int) -> str:
    """A Stripe-Signature header value, computed as Stripe does (for simulate_purchase and tests)."""
    signature = stripe.WebhookSignature._compute_signature(f"{timestamp}.{payload}", secret)
    return f"t={timestamp},v1={signature}"
