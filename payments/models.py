import uuid

from django.db import models
from django.db.models import Q


class Order(models.Model):
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


class StripeCall(models.Model):
    """Every call the gateway made, or in offline mode would have made, to Stripe."""

    class Mode(models.TextChoices):
        LIVE = "live", "Sent to Stripe"
        OFFLINE = "offline", "Offline: recorded, not sent"

    operation = models.CharField(max_length=64)
    target = models.CharField(max_length=255, blank=True)
    params = models.JSONField(default=dict, blank=True)
    idempotency_key = models.CharField(max_length=255, blank=True)
    mode = models.CharField(max_length=8, choices=Mode.choices)
    outcome = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return f"[{self.mode}] {self.operation} {self.target}"


class OfflineStripeObject(models.Model):
    """The offline gateway's notebook: objects it would have at Stripe (sessions, intents, links).

    Only used without STRIPE_SECRET_KEY, so the demo can run a purchase end to end; nothing here
    ever reached Stripe.
    """

    id = models.CharField(primary_key=True, max_length=255)
    object = models.CharField(max_length=64)
    data = models.JSONField()
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self):
        return f"{self.object} {self.id}"


class Checkout(models.Model):
    """Our own checkout: units reserved first, then a manual-capture PaymentIntent, captured only
    once the stock is ours. Its id is the hold reference of its reservations."""

    class Status(models.TextChoices):
        RESERVED = "reserved", "Units held, awaiting payment"
        AUTHORISED = "authorised", "Sold; capturing the payment"
        PAID = "paid", "Paid"
        CANCELLED = "cancelled", "Cancelled: authorisation released, nothing charged"
        REFUNDED = "refunded", "Refunded"
        FAILED = "failed", "Payment failed; units released"
        EXPIRED = "expired", "Hold ran out before payment"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.RESERVED)
    email = models.EmailField(blank=True)
    client_ref = models.CharField(max_length=64, blank=True, db_index=True,
                                  help_text="Who started it (client address), to cap open holds per client.")
    store = models.ForeignKey("inventory.Store", on_delete=models.PROTECT)
    amount = models.PositiveBigIntegerField()
    currency = models.CharField(max_length=3)
    payment_intent_id = models.CharField(max_length=255, blank=True)
    client_secret = models.CharField(max_length=255, blank=True)
    expires_at = models.DateTimeField()
    resolution = models.TextField(blank=True)
    refund_id = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["payment_intent_id"], condition=~Q(payment_intent_id=""),
                                    name="checkout_one_payment_intent"),
            models.CheckConstraint(condition=Q(amount__gt=0), name="checkout_amount_positive"),
        ]

    def __str__(self):
        return f"checkout {self.id} ({self.status})"


class CheckoutLine(models.Model):
    checkout = models.ForeignKey(Checkout, on_delete=models.CASCADE, related_name="lines")
    product = models.ForeignKey("inventory.Product", on_delete=models.PROTECT, related_name="checkout_lines")
    quantity = models.PositiveIntegerField()
    unit_amount = models.PositiveIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["checkout", "product"], name="checkout_line_once_per_product"),
            models.CheckConstraint(condition=Q(quantity__gt=0), name="checkout_line_quantity_positive"),
        ]
