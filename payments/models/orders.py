from django.db import models
from django.db.models import Q

from .receipts import Receipted


class Order(Receipted):
    """One paid Stripe Checkout Session (a Payment Link purchase) and what became of it."""

    class Status(models.TextChoices):
        FULFILLED = "fulfilled", "Fulfilled: stock taken"
        OVERSOLD = "oversold", "Oversold: money to give back"
        REFUNDED = "refunded", "Refunded"
        CANCELLED = "cancelled", "Authorisation cancelled (never captured)"
        UNMATCHED = "unmatched", "No product of ours matches: needs staff"
        IGNORED = "ignored", "Not a paid purchase"

    class Capture(models.TextChoices):
        NOT_NEEDED = "not_needed", "Not needed"
        PENDING = "pending", "To capture"
        CAPTURED = "captured", "Captured"
        FAILED = "failed", "Capture failed"

    checkout_session_id = models.CharField(max_length=255, unique=True)
    stripe_event_id = models.CharField(max_length=255, blank=True)
    payment_intent_id = models.CharField(max_length=255, blank=True)
    payment_link_id = models.CharField(max_length=64, blank=True)
    store = models.ForeignKey("inventory.Store", null=True, blank=True, on_delete=models.PROTECT)
    status = models.CharField(max_length=16, choices=Status.choices)
    capture = models.CharField(max_length=16, choices=Capture.choices, default=Capture.NOT_NEEDED)
    amount_total = models.BigIntegerField(null=True, blank=True)
    currency = models.CharField(max_length=3, blank=True)
    customer_email = models.EmailField(blank=True)
    resolution = models.TextField(blank=True, help_text="What happened to the money, and why.")
    refund_id = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        # Booth staff hand over what any sale bought, whichever way it was paid (payments/handover).
        permissions = [("hand_over_sale", "Can hand a sale's items over at the booth")]
        constraints = [
            models.CheckConstraint(
                condition=~Q(status="refunded") | ~Q(refund_id=""), name="refunded_order_has_refund_id"
            ),
        ]

    def __str__(self):
        return f"{self.checkout_session_id} ({self.status})"


class OrderLine(models.Model):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="lines")
    product = models.ForeignKey("inventory.Product", on_delete=models.PROTECT, related_name="order_lines")
    quantity = models.PositiveIntegerField()
    stripe_price_id = models.CharField(max_length=64, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["order", "product"], name="order_line_once_per_product"),
            models.CheckConstraint(condition=Q(quantity__gt=0), name="order_line_quantity_positive"),
        ]
