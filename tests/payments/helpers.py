"""Arranging a purchase at the Stripe stand-in (sessions, links) and localstripe (PaymentIntents)."""

import secrets
import threading
import uuid

from inventory.models import Product
from django.utils import timezone

from payments.checkout.services import CheckoutRequestLine, checkout_start
from payments.models import Checkout
from tests.stripe_events import checkout_session_completed
from tests.stripe_standin import shape


def payment_intent(standin, *, amount: int, capture: str) -> str:
    """A real PaymentIntent in localstripe: authorised only (manual) or paid (automatic)."""
    intent = standin.sdk_client().v1.payment_intents.create({
        "amount": amount, "currency": "usd", "payment_method": "pm_card_visa", "confirm": True,
        "capture_method": capture})
    return intent.id


def payment_link(standin, product: Product, *, completed: int = 0) -> None:
    standin.add_payment_link(product.payment_link_id, price=product.stripe_price_id, url=product.payment_link_url,
                             completed_count=completed, limit=completed + max(product.inventory, 1))


def stocked_product(standin, stock: int, **fields) -> Product:
    """A product whose Payment Link exists at the stand-in before its first stock arrives."""
    from inventory.services import stock_increase
    from tests import factories

    product = factories.product(inventory=0, unit_amount=2500, **fields)
    payment_link(standin, product)
    if stock:
        stock_increase(product=product, quantity=stock, source=f"test-initial:{product.pk}", reason="initial")
    product.refresh_from_db()
    return product


def purchase(standin, product: Product, *, quantity: int = 1, capture: str = "manual", via_link: bool = True) -> dict:
    """A completed session for `quantity` of `product` at the stand-in; returns its signed-ready event.

    Through the product's Payment Link the session itself tells what was bought; `via_link=False`
    makes a session without a link, whose line items the store must fetch from Stripe.
    """
    token = secrets.token_hex(8)
    session_id = f"cs_test_{token}"
    amount = product.unit_amount * quantity
    intent_id = payment_intent(standin, amount=amount, capture=capture)
    link = product.payment_link_id if via_link else None
    # Stripe marks a session whose payment is only authorised (manual capture) as unpaid.
    payment_status = "unpaid" if capture == "manual" else "paid"
    standin.add_checkout_session(
        session_id, payment_intent=intent_id, payment_link=link, payment_status=payment_status,
        line_items=[{"price": product.stripe_price_id, "product": product.stripe_product_id,
                     "quantity": quantity, "unit_amount": product.unit_amount}],
        metadata={"store_id": product.store_id})
    return checkout_session_completed(session_id=session_id, payment_intent=intent_id, payment_link=link,
                                      store_id=product.store_id, amount_total=amount,
                                      payment_status=payment_status)


def intent_status(standin, intent_id: str) -> str:
    return standin.sdk_client().v1.payment_intents.retrieve(intent_id).status


def run_in_threads(target, args_list: list[tuple]) -> list:
    """Run target(*args) in one thread each, released together; return results or exceptions."""
    from django.db import connection

    barrier = threading.Barrier(len(args_list))
    results: list = [None] * len(args_list)

    def worker(i, args):
        try:
            barrier.wait()
            results[i] = target(*args)
        except Exception as exc:  # collected for the test to assert on
            results[i] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(i, a)) for i, a in enumerate(args_list)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    return results


def checkout_for(product: Product, quantity: int = 1) -> Checkout:
    # Each call is another buyer (address), as in a crowd at the booth.
    return checkout_start(lines=[CheckoutRequestLine(product.pk, quantity)], email="buyer@example.com",
                          client_ref=f"buyer-{uuid.uuid4().hex[:12]}")


def authorise(standin, checkout: Checkout, card: str = "pm_card_visa") -> dict:
    """The buyer's browser confirming the PaymentIntent (Stripe.js), done here with the SDK.

    localstripe confirms only an intent that already has its payment method, so attach it first."""
    sdk = standin.sdk_client()
    sdk.v1.payment_intents.update(checkout.payment_intent_id, {"payment_method": card})
    return sdk.v1.payment_intents.confirm(checkout.payment_intent_id).to_dict()


def intent_event(standin, checkout: Checkout, event_type: str, status: str) -> dict:
    intent = shape("payment_intent", id=checkout.payment_intent_id, status=status, amount=checkout.amount,
                   capture_method="manual", metadata={"checkout": str(checkout.pk), "store": checkout.store_id})
    return shape("event", id=f"evt_{event_type}_{checkout.pk.hex[:12]}_{status}", type=event_type,
                 api_version="2024-06-20", created=int(timezone.now().timestamp()), data={"object": intent},
                 request={"id": None, "idempotency_key": None})
