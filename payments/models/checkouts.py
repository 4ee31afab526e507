import uuid

from django.db import models
from django.db.models import Q

from .receipts import Receipted


class Checkout(Receipted):
    """Units reserved first, then payment, captured only once the stock is ours. Its id is the hold
    reference of its reservations. Paid either on our page (a manual-capture PaymentIntent) or, for
    a QR buyer in held mode, on Stripe's page (a Checkout Session, `checkout_session_id`)."""

    class Status(models.TextChoices):
        RESERVED = "reserved", "Units held, awaiting payment"
        AUTHORISED = "authorised", "Sold; capturing the payment"
        PAID = "paid", "Paid"
        CANCELLED = "cancelled", "Cancelled: authorisation released, nothing charged"
        REFUNDED = "refunded", "Refunded"
        FAILED = "failed", "Payment failed; units released"
        EXPIRED = "expired", "Hold ran out before payment"
        LEFT = "left", "Left the payment page; nothing charged"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.RESERVED)
    email = models.EmailField(blank=True)
    client_ref = models.CharField(max_length=64, blank=True,
                                  help_text="The address it came from (an IPv6 /64 as its network), for the "
                                            "per-address rate of checkouts started.")
    buyer_ref = models.CharField(max_length=64, blank=True,
                                 help_text="The browser that started it (its signed cookie), for the per-buyer caps "
                                           "and for leaving it.")
    store = models.ForeignKey("inventory.Store", on_delete=models.PROTECT)
    amount = models.PositiveBigIntegerField()
    currency = models.CharField(max_length=3)
    payment_intent_id = models.CharField(max_length=255, blank=True)
    client_secret = models.CharField(max_length=255, blank=True)
    expires_at = models.DateTimeField(help_text="When the buyer's hold lapses (a session is then expired at Stripe).")
    checkout_session_id = models.CharField(max_length=255, blank=True)
    session_url = models.URLField(max_length=2000, blank=True)
    session_expires_at = models.DateTimeField(null=True, blank=True,
                                              help_text="Stripe's own deadline for the session.")
    resolution = models.TextField(blank=True)
    refund_id = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["client_ref", "created_at"], name="checkout_address_recent"),
                   models.Index(fields=["buyer_ref", "created_at"], name="checkout_buyer_recent")]
        constraints = [
            models.UniqueConstraint(fields=["payment_intent_id"], condition=~Q(payment_intent_id=""),
                                    name="checkout_one_payment_intent"),
            models.UniqueConstraint(fields=["checkout_session_id"], condition=~Q(checkout_session_id=""),
                                    name="checkout_one_session"),
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


class ChallengeSpent(models.Model):
    """A solved proof-of-work challenge (payments/checkout/challenge.py), kept until it would have
    expired anyway, so that one solution lets one checkout through, not many."""

    signature = models.CharField(max_length=128, unique=True)
    expires_at = models.DateTimeField(db_index=True)

    def __str__(self):
        return f"challenge {self.signature[:12]}… spent"
