"""Checkout Sessions made ahead for held-mode products (payments/checkout/session_pool.py)."""

import uuid

from django.db import models
from django.db.models import Q


class PooledSession(models.Model):
    """An open Checkout Session for `quantity` units of one held-mode product, made before anyone
    asked, so a buyer who gets units is sent to Stripe with no Stripe call in their wait.

    No units are held for it: a buyer's hold is taken when the session is handed out. Its id is the
    id the buyer's Checkout will have, and the session already names it (metadata, client
    reference, return URLs), so once handed out it is a held checkout like any other. The price,
    amount and capture method it was made with are kept: a session is handed out only while they
    are still the product's. `retiring`: being expired at Stripe (no longer wanted, or too close to
    Stripe's deadline); a failed expiry is retried a few times, then left to Stripe's own deadline,
    since nobody knows its URL.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    product = models.ForeignKey("inventory.Product", on_delete=models.CASCADE, related_name="pooled_sessions")
    quantity = models.PositiveIntegerField(default=1)
    unit_amount = models.PositiveIntegerField()
    price_id = models.CharField(max_length=255, blank=True)
    capture_method = models.CharField(max_length=16)
    checkout_session_id = models.CharField(max_length=255, unique=True)
    session_url = models.URLField(max_length=2000)
    session_expires_at = models.DateTimeField(help_text="Stripe's own deadline for the session.")
    retiring = models.BooleanField(default=False)
    attempts = models.PositiveSmallIntegerField(default=0, help_text="Failed expiries at Stripe.")
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["session_expires_at"]
        indexes = [models.Index(fields=["product", "session_expires_at"], condition=Q(retiring=False),
                                name="pooled_session_ready")]
        constraints = [models.CheckConstraint(condition=Q(quantity__gt=0), name="pooled_session_quantity_positive")]

    def __str__(self):
        return f"pooled session {self.checkout_session_id} ({self.product_id} × {self.quantity})"
