"""product.updated and price.updated: names, pictures and prices kept in step with Stripe.

The webhook only stores the event and its intake row (payments/intake); fulfilment applies it in
its batch, from the signed event's own object: plain updates of the store's rows, no Stripe call.
An event older than the last read of Stripe (an import, or a newer event) changes nothing.
"""

from django.db import DataError, IntegrityError, transaction

from common.work import work_quarantine

from inventory.catalogue import product_details_from_stripe, variant_price_from_stripe

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
        except (IntegrityError, DataError, KeyError, TypeError) as exc:
            work_quarantine(INTAKE, pks=[intake.pk], reason=f"not applied: {type(exc).__name__}: {exc}")
            continue
        done.append(intake.pk)
    return done


def _apply(event_type: str, obj: dict, at) -> None:
    if event_type == "product.updated" and obj.get("object") == "product":
        product_details_from_stripe(**details_from_product_event(obj), at=at)
    elif event_type == "price.updated" and obj.get("object") == "price":
        variant_price_from_stripe(**entry_from_price_event(obj), at=at)
