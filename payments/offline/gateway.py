"""The offline gateway: what the demo uses without a Stripe key. It records each call it would
have made (StripeCall, mode=offline, and the log) and answers from its own notebook of objects
(OfflineStripeObject), in Stripe's shapes. Nothing here ever reaches Stripe.
"""

import time
import uuid

from django.conf import settings
from django.db import transaction
from django.urls import reverse

from inventory import selectors as inventory_selectors

from ..gateway.calls import stripe_call_record
from ..gateway.errors import GatewayRejected
from ..models import OfflineStripeObject, StripeCall
from .shapes import offline_checkout_session, offline_payment_link, stripe_shape

OFFLINE_DECLINING_CARDS = {"pm_card_chargeDeclined", "pm_card_visa_chargeDeclined", "pm_card_chargeCustomerFail"}


class OfflineGateway:
    """Records what it would send; answers from OfflineStripeObject, in Stripe's shapes."""

    mode = StripeCall.Mode.OFFLINE

    def _note(self, operation: str, target: str, params: dict | None = None, idempotency_key: str = "",
              outcome: str = "recorded, not sent") -> None:
        stripe_call_record(mode=self.mode, operation=operation, target=target, params=params or {},
                           idempotency_key=idempotency_key, outcome=outcome)

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

    def checkout_session_create(self, *, params: dict, idempotency_key: str) -> dict:
        """A session whose URL is the demo's simulated hosted checkout page (payments/offline/views.py)."""
        session_id = "cs_offline_" + uuid.uuid5(uuid.NAMESPACE_URL, idempotency_key).hex[:24]
        existing = OfflineStripeObject.objects.filter(pk=session_id).first()
        if existing:  # same idempotency key: the same session, as Stripe would replay it
            return existing.data
        self._note("checkout.session.create", (params.get("metadata") or {}).get("checkout", ""), params,
                   idempotency_key)
        url = settings.SITE_URL + reverse("payments:offline_hosted_checkout", kwargs={"session_id": session_id})
        store_id = (params.get("metadata") or {}).get("store_id")
        prices = {item["price"]: _price_of(item["price"], store_id) for item in params.get("line_items") or []
                  if "price" in item}
        return self._put(offline_checkout_session(session_id=session_id, params=params, url=url, prices=prices))

    def checkout_session_retrieve(self, session_id: str) -> dict:
        self._note("checkout.session.retrieve", session_id, outcome="answered from offline notebook")
        return self._get(session_id)

    def checkout_session_expire(self, session_id: str, *, idempotency_key: str) -> dict:
        with transaction.atomic():
            session = self._get(session_id)
            if session["status"] != "open":
                raise GatewayRejected(f"Offline: a {session['status']} Checkout Session cannot be expired.",
                                      code="checkout_session_not_open")
            self._note("checkout.session.expire", session_id, idempotency_key=idempotency_key)
            return self._put({**session, "status": "expired", "url": None})

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

    # --- The catalogue: the demo's Stripe account is whatever the offline notebook holds ---

    def product_list(self) -> list[dict]:
        self._note("product.list", "", {"active": True}, outcome="answered from offline notebook")
        return [p for p in self._all("product") if p.get("active", True)]

    def price_list(self) -> list[dict]:
        self._note("price.list", "", {"active": True, "type": "one_time"}, outcome="answered from offline notebook")
        return [p for p in self._all("price") if p.get("active", True) and p.get("type") == "one_time"]

    def payment_link_list(self) -> list[dict]:
        self._note("payment_link.list", "", outcome="answered from offline notebook")
        return self._all("payment_link")

    def payment_link_create(self, *, params: dict, idempotency_key: str) -> dict:
        """A link whose URL is the demo's offline pay page (payments/offline/views.py)."""
        link_id = "plink_offline_" + uuid.uuid5(uuid.NAMESPACE_URL, idempotency_key).hex[:20]
        existing = OfflineStripeObject.objects.filter(pk=link_id).first()
        if existing:  # same idempotency key: the same link, as Stripe would replay it
            return existing.data
        self._note("payment_link.create", (params.get("metadata") or {}).get("price", ""), params, idempotency_key)
        url = settings.SITE_URL + reverse("payments:offline_pay", kwargs={"payment_link_id": link_id})
        return self._put(offline_payment_link(link_id=link_id, url=url, params=params))

    def _all(self, kind: str) -> list[dict]:
        return [row.data for row in OfflineStripeObject.objects.filter(object=kind).order_by("pk")]

    def notebook_put(self, data: dict) -> dict:
        """Let the offline simulator (simulate_purchase, seed_demo) place objects Stripe would hold."""
        return self._put(data)


def _price_of(price_id: str, store_id: str | None) -> tuple[int, str]:
    """What Stripe would know of a price: offline, our catalogue is the only record of it."""
    product = inventory_selectors.product_for_price(price_id=price_id, store_id=store_id)
    if product is None:
        raise GatewayRejected(f"Offline: no such price: '{price_id}'.", code="resource_missing")
    return product.unit_amount, product.currency
