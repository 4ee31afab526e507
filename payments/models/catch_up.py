"""Catch-up from Stripe's event list (payments/intake/catch_up.py): each run, and what it fed."""

from django.db import models


class CatchUpRun(models.Model):
    """One listing of Stripe's events (periodic, or `stripe_catch_up` after an outage) and its outcome."""

    class Trigger(models.TextChoices):
        PERIODIC = "periodic", "Periodic (beat)"
        COMMAND = "command", "stripe_catch_up command"

    trigger = models.CharField(max_length=16, choices=Trigger.choices)
    since = models.DateTimeField(help_text="Events created at or after this time were listed…")
    until = models.DateTimeField(help_text="…and at or before this one.")
    found = models.PositiveIntegerField(default=0, help_text="Events of the types we act on that Stripe listed.")
    fed = models.PositiveIntegerField(default=0, help_text="Of those, the ones we did not hold: fed to intake.")
    refused = models.PositiveIntegerField(default=0, help_text="Listed but not shaped like an Event: skipped.")
    newest_fed_created = models.DateTimeField(null=True, blank=True)
    error = models.CharField(max_length=500, blank=True, help_text="Why the listing stopped (Stripe unreachable…).")
    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-started_at", "-id"]

    def __str__(self):
        return f"catch-up {self.since:%Y-%m-%d %H:%M}–{self.until:%H:%M}: {self.fed} fed of {self.found}"


class CaughtUpEvent(models.Model):
    """An event that came in by catch-up, not by webhook: what tells the two ways in apart."""

    event_id = models.CharField(max_length=255, unique=True)
    run = models.ForeignKey(CatchUpRun, on_delete=models.CASCADE, related_name="events")

    def __str__(self):
        return self.event_id
