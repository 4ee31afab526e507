"""Arranging a purchase at the Stripe fake (links, sessions, PaymentIntents) and the store."""

import functools
import secrets
import threading
import uuid

from django.test import Client

from common.buyers import BUYER_COOKIE, Buyer, buyer_cookie_value
from inventory.models import Product
from payments.checkout.services import CheckoutRequestLine, checkout_start
from payments.models import Checkout
from tests.factories import product_create
from tests.fakes.stripe import events, shape


def payment_intent(fake, *, amount: int, capture: str) -> str:
    """A real PaymentIntent at the fake, made through the SDK: authorised only (manual) or paid (automatic)."""
    intent = fake.sdk_client().v1.payment_intents.create({
        "amount": amount, "currency": "usd", "payment_method": "pm_card_visa", "confirm": True,
        "capture_method": capture})
    return intent.id


def payment_link(fake, product: Product, *, completed: int = 0) -> None:
    fake.add_payment_link(product.payment_link_id, price=product.stripe_price_id, url=product.payment_link_url,
                          completed_count=completed, limit=completed + max(product.inventory, 1))


def payment_link_at(fake):
    """For ``make_product(link_at=...)``: the product's Payment Link at the Stripe fake."""
    return functools.partial(payment_link, fake)


def stocked_product(fake, stock: int, **fields) -> Product:
    """A product whose Payment Link exists at the fake before its first stock arrives."""
    return product_create(inventory=stock, unit_amount=2500, link_at=payment_link_at(fake), **fields)


def purchase(fake, product: Product, *, quantity: int = 1, capture: str = "manual", via_link: bool = True) -> dict:
    """A completed session for `quantity` of `product` at the fake; returns its event, ready to sign.

    Through the product's Payment Link the session itself tells what was bought; `via_link=False`
    makes a session without a link, whose line items the store must fetch from Stripe.
    """
    session_id = f"cs_test_{secrets.token_hex(8)}"
    amount = product.unit_amount * quantity
    intent_id = payment_intent(fake, amount=amount, capture=capture)
    link = product.payment_link_id if via_link else None
    # An authorised-only payment (manual capture) leaves the session unpaid (tests/fakes/stripe/checkout_sessions.py).
    payment_status = "unpaid" if capture == "manual" else "paid"
    fake.add_checkout_session(
        session_id, payment_intent=intent_id, payment_link=link, payment_status=payment_status,
        line_items=[{"price": product.stripe_price_id, "product": product.stripe_product_id,
                     "quantity": quantity, "unit_amount": product.unit_amount}],
        metadata={"store_id": product.store_id})
    # Stripe keeps the event (GET /v1/events) whether or not its webhook reaches the store.
    return fake.add_event(events.checkout_session_completed(
        session_id=session_id, payment_intent=intent_id, payment_link=link, store_id=product.store_id,
        amount_total=amount, payment_status=payment_status))


def intent_status(fake, intent_id: str) -> str:
    return fake.sdk_client().v1.payment_intents.retrieve(intent_id).status


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
    # Each call is another buyer on an address of its own, as in a crowd at the booth.
    who = f"buyer-{uuid.uuid4().hex[:12]}"
    return checkout_start(lines=[CheckoutRequestLine(product.pk, quantity)], email="buyer@example.com",
                          buyer=Buyer(ref=who, address=who))


def authorise(fake, checkout: Checkout, card: str = "pm_card_visa") -> dict:
    """The buyer's browser confirming the PaymentIntent (Stripe.js), done here with the SDK:
    the card attached first, then the confirm, as Stripe.js does."""
    sdk = fake.sdk_client()
    sdk.v1.payment_intents.update(checkout.payment_intent_id, {"payment_method": card})
    return sdk.v1.payment_intents.confirm(checkout.payment_intent_id).to_dict()


def intent_event(fake, checkout: Checkout, event_type: str, status: str) -> dict:
    intent = shape("payment_intent", id=checkout.payment_intent_id, status=status, amount=checkout.amount,
                   capture_method="manual", metadata={"checkout": str(checkout.pk), "store": checkout.store_id})
    return events.event(event_type, intent, id=f"evt_{event_type}_{checkout.pk.hex[:12]}_{status}")


def buyer_client(ref: str) -> Client:
    """A test client whose browser already carries buyer `ref`'s signed cookie (as after a first page)."""
    client = Client()
    client.cookies[BUYER_COOKIE] = buyer_cookie_value(ref)
    return client
