"""product.updated and price.updated: names, pictures and prices kept in step with Stripe.

The webhook only stores the event and its intake row (payments/intake); fulfilment applies it in
its batch, from the signed event's own object: plain updates of the store's rows, no Stripe call.
An event older than the last read of Stripe (an import, or a newer event) changes nothing.

Stripe never changes a price's amount or currency (a new amount is a new price), so a
price.updated that gives a known price another amount is not a real event: nothing of it is
applied, it is logged as an error and set aside as failed with its reason, which staff see under
*Intake events*.
"""

from django.db import DataError, IntegrityError, transaction

from common.work import work_quarantine

from inventory.catalogue import product_details_from_stripe, variant_price_from_stripe
from inventory.models import Product

from ..work.kinds import INTAKE
from ..models import IntakeEvent
from .stripe_catalogue import details_from_product_event, entry_from_price_event


def catalogue_events_apply(*, intakes: list[IntakeEvent], objects: dict) -> list[int]:
    """Apply each event in the order given; returns the intake ids done. One that cannot apply (a
    relabelled size that is already another variant's) is marked failed for staff, alone: its
    savepoint keeps the rest of the batch, sales included."""
    done = []
    for intake in intakes:
        obj = objects.get(intake.event_id) or {}
        try:
            with transaction.atomic():
                _apply(intake.event_type, obj, intake.event_created)
        except (IntegrityError, DataError, KeyError, TypeError, PriceAmountChanged) as exc:
            work_quarantine(INTAKE, pks=[intake.pk], reason=f"not applied: {type(exc).__name__}: {exc}")
            continue
        done.append(intake.pk)
    return done


class PriceAmountChanged(ValueError):
    """A price.updated giving a price we sell another amount or currency: Stripe never does that."""


def _apply(event_type: str, obj: dict, at) -> None:
    if event_type == "product.updated" and obj.get("object") == "product":
        product_details_from_stripe(**details_from_product_event(obj), at=at)
    elif event_type == "price.updated" and obj.get("object") == "price":
        entry = entry_from_price_event(obj)
        _price_amount_unchanged(entry)
        variant_price_from_stripe(**entry, at=at)


def _price_amount_unchanged(entry: dict) -> None:
    sold = set(Product.objects.filter(stripe_price_id=entry["stripe_price_id"]).values_list("unit_amount", "currency"))
    event = (entry["unit_amount"], entry["currency"])
    if sold and any(known != event for known in sold):
        known = ", ".join(f"{amount} {currency}" for amount, currency in sorted(sold))
        raise PriceAmountChanged(f"price {entry['stripe_price_id']} is sold at {known}, but the event says "
                                 f"{event[0]} {event[1]}: Stripe prices never change amount, so the event was "
                                 f"ignored; check the Stripe account and the webhook secret")
