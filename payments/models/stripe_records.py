from django.db import models


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
