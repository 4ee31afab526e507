"""Work that must follow a payment, as rows: PostgreSQL remembers it, Redis only rings the bell.

Each row is written in the same transaction as its cause (the stored webhook event, the sale
decision, the stock change) and claimed by workers with SELECT … FOR UPDATE SKIP LOCKED, so a lost
Celery message, a Redis outage or a killed worker delays work but never loses it.
"""

from django.db import models
from django.db.models import Q

from common.work import WorkRow

# The engine's bookkeeping (attempts, lease, last error, failed_at): common/work.py.
LeasedWork = WorkRow


class IntakeEvent(LeasedWork):
    """A verified Stripe event we act on, stored with the webhook's own transaction, and how far
    its work has come. The lease fields are used only while its line items are fetched."""

    class Kind(models.TextChoices):
        PURCHASE = "purchase", "Checkout Session completed or expired"
        PAYMENT = "payment", "PaymentIntent changed"
        CATALOGUE = "catalogue", "Product or price changed"

    class State(models.TextChoices):
        READY = "ready", "Ready to apply"
        AWAITING_LINES = "awaiting_lines", "Waiting for line items from Stripe"
        DONE = "done", "Applied"
        FAILED = "failed", "Failed: staff to check"

    event_id = models.CharField(max_length=255, unique=True)
    event_type = models.CharField(max_length=64)
    kind = models.CharField(max_length=16, choices=Kind.choices)
    object_id = models.CharField(max_length=255, help_text="The session, PaymentIntent, product or price the event is about.")
    event_created = models.DateTimeField(help_text="When Stripe created the event: sales are decided in this order (then by event id).")
    state = models.CharField(max_length=16, choices=State.choices, default=State.READY)
    line_items = models.JSONField(null=True, blank=True, help_text="Fetched from Stripe when the session alone "
                                                                   "cannot tell what was bought.")
    received_at = models.DateTimeField(auto_now_add=True)
    done_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["event_created", "event_id"]
        indexes = [
            models.Index(fields=["event_created", "event_id"], condition=Q(state="ready"), name="intake_ready_idx"),
            models.Index(fields=["state", "received_at"], name="intake_state_idx"),
        ]

    def __str__(self):
        return f"{self.event_type} {self.event_id} ({self.state})"


class StripeJob(LeasedWork):
    """One thing to do at Stripe for an Order or a Checkout, recorded with the decision that made
    it necessary and retried until Stripe confirms it. `key` is the Stripe idempotency key, so a
    job run twice (a worker killed after Stripe acted) is replayed by Stripe, not repeated."""

    class Action(models.TextChoices):
        CAPTURE = "capture", "Capture the authorisation"
        GIVE_BACK = "give_back", "Give the money back (cancel, else refund)"
        FOLLOW = "follow", "Read the PaymentIntent and decide the checkout"
        LINE_ITEMS = "line_items", "Fetch a session's line items"
        EXPIRE_SESSION = "expire_session", "Expire a held checkout's session, then release or sell"

    class State(models.TextChoices):
        PENDING = "pending", "Pending"
        DONE = "done", "Done"
        FAILED = "failed", "Refused by Stripe or out of retries: staff to check"

    key = models.CharField(max_length=255, unique=True)
    action = models.CharField(max_length=16, choices=Action.choices)
    state = models.CharField(max_length=8, choices=State.choices, default=State.PENDING)
    order = models.ForeignKey("payments.Order", null=True, blank=True, on_delete=models.CASCADE,
                              related_name="stripe_jobs")
    checkout = models.ForeignKey("payments.Checkout", null=True, blank=True, on_delete=models.CASCADE,
                                 related_name="stripe_jobs")
    intake = models.ForeignKey(IntakeEvent, null=True, blank=True, on_delete=models.CASCADE,
                               related_name="stripe_jobs")
    payment_intent_id = models.CharField(max_length=255, blank=True)
    captured = models.BooleanField(null=True, blank=True,
                                   help_text="Whether the money was already captured, when the event said so.")
    created_at = models.DateTimeField(auto_now_add=True)
    done_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["next_attempt_at"], condition=Q(state="pending"), name="stripejob_due_idx")]
        constraints = [
            models.CheckConstraint(
                condition=Q(order__isnull=False) | Q(checkout__isnull=False) | Q(intake__isnull=False),
                name="stripejob_has_subject"),
        ]

    def __str__(self):
        return f"{self.action} {self.key} ({self.state})"


class LinkSync(LeasedWork):
    """A product's Payment Link to bring in step with its stock. Every stock change bumps `wanted`
    in its own transaction; a sync that started at `wanted` = n is done only if nothing bumped it
    meanwhile, so the link always ends matching stock, with at most one sync in flight per link."""

    product = models.OneToOneField("inventory.Product", primary_key=True, on_delete=models.CASCADE,
                                   related_name="link_sync")
    wanted = models.PositiveBigIntegerField(default=1)
    synced = models.PositiveBigIntegerField(default=0)
    pushed = models.JSONField(null=True, blank=True, help_text="The link's state as Stripe last confirmed it.")

    class Meta:
        indexes = [models.Index(fields=["next_attempt_at"], condition=Q(wanted__gt=models.F("synced")),
                                name="linksync_due_idx")]

    def __str__(self):
        return f"link of product {self.product_id} ({self.synced}/{self.wanted})"


class StripeRateBudget(models.Model):
    """A token bucket shared by every process, so all workers together stay under Stripe's rate limit."""

    name = models.CharField(primary_key=True, max_length=32)
    tokens = models.FloatField()
    refilled_at = models.DateTimeField()
