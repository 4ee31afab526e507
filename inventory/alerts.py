"""Low-stock alerts: PostgreSQL remembers, Redis rings the bell.

A product that crosses into low stock (Product.objects.needing_restock(): at or under its threshold,
sold out included) gets a LowStockAlert row in the very transaction that moved its stock, with one
delivery row per channel (e-mail, and the webhook when LOW_STOCK_WEBHOOK_URL is set). After commit a
Celery task sends them; each delivery is claimed with FOR UPDATE SKIP LOCKED and marked sent only
once its own send succeeded, so a failing channel is retried alone and the other is never sent
twice. The sweeper (beat, and every worker's PostgreSQL sweeper) rings again for deliveries whose
bell was lost. A product back above its threshold re-arms: its next crossing alerts again.
"""

import json
import logging
import urllib.error
import urllib.request
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.urls import reverse
from django.utils import timezone

from common.chat import chat_text_escaped

from .models import LowStockAlert, LowStockAlertDelivery, Product
from .signals import low_stock_alert_opened

log = logging.getLogger(__name__)
RETRY_BASE_SECONDS, RETRY_MAX_SECONDS = 30, 3600


class AlertNotSent(Exception):
    """Some channel of an alert failed; its delivery stays pending for the task's retry or the sweeper.
    Not an OSError on purpose: bells are published with broker errors (OSErrors) caught, and this
    one must reach Celery (and, in tests, the test)."""


# --- in the stock change's transaction -------------------------------------------------------------


def low_stock_alert_check(*, product_id: int) -> LowStockAlert | None:
    """Open an alert if the product is now low and none is open; re-arm if it is no longer low.

    Called inside the transaction that changed the product's stock, holds or threshold (stock_moved),
    which normally holds the product's row lock. The partial unique index (one open alert per
    product) makes a crossing alert once even if two transactions see it together.
    Triggers (after commit): the send task, when an alert was opened. Returns the new alert.
    """
    low = Product.objects.needing_restock().filter(pk=product_id).values_list(
        "available_units", "low_stock_threshold").first()
    open_alerts = LowStockAlert.objects.filter(product_id=product_id, rearmed_at__isnull=True)
    if low is None:
        open_alerts.update(rearmed_at=timezone.now())
        return None
    if open_alerts.exists():
        return None
    try:
        with transaction.atomic():
            alert = LowStockAlert.objects.create(product_id=product_id, available=low[0], threshold=low[1])
    except IntegrityError:  # another transaction opened it first: this crossing is theirs
        return None
    now = timezone.now()
    LowStockAlertDelivery.objects.bulk_create(
        LowStockAlertDelivery(alert=alert, channel=channel, next_attempt_at=now) for channel in _channels())
    # The bell (inventory/tasks.py) is rung by a receiver: the task module imports this one.
    transaction.on_commit(lambda: low_stock_alert_opened.send(sender=low_stock_alert_check, alert_id=alert.pk))
    return alert


def _channels() -> list[str]:
    channels = [LowStockAlertDelivery.Channel.MAIL]
    if settings.LOW_STOCK_WEBHOOK_URL:
        channels.append(LowStockAlertDelivery.Channel.WEBHOOK)
    return channels


# --- sending, after commit ----------------------------------------------------------------------


def low_stock_alert_send(*, alert_id: int) -> int:
    """Send every channel of the alert not sent yet; returns how many were sent now.

    Each delivery is claimed (FOR UPDATE SKIP LOCKED, so a concurrent run skips it) and marked sent in
    the transaction that sent it; a failed send rolls the mark back and records the error and the
    next attempt. Raises AlertNotSent, after trying every channel, when any failed.
    """
    sent, failed = 0, []
    pending = LowStockAlertDelivery.objects.filter(alert_id=alert_id, sent_at__isnull=True).order_by("channel")
    for delivery_id, channel in pending.values_list("pk", "channel"):
        try:
            sent += _deliver(delivery_id)
        except Exception as exc:  # any channel's failure is recorded; the other channels still go
            _record_failure(delivery_id, exc)
            failed.append(f"{channel}: {exc}")
    if failed:
        raise AlertNotSent(f"low-stock alert {alert_id} not sent by {'; '.join(failed)}")
    return sent


def _deliver(delivery_id: int) -> int:
    with transaction.atomic():
        delivery = (LowStockAlertDelivery.objects.select_for_update(skip_locked=True, of=("self",))
                    .select_related("alert__product__store").filter(pk=delivery_id, sent_at__isnull=True).first())
        if delivery is None:
            return 0
        note = SENDERS[delivery.channel](delivery.alert)
        LowStockAlertDelivery.objects.filter(pk=delivery_id).update(
            sent_at=timezone.now(), attempts=F("attempts") + 1, last_error=note[:500])
        return 1


def _record_failure(delivery_id: int, exc: Exception) -> None:
    delivery = LowStockAlertDelivery.objects.filter(pk=delivery_id).values_list("attempts", flat=True).first() or 0
    wait = min(RETRY_BASE_SECONDS * 2 ** delivery, RETRY_MAX_SECONDS)
    LowStockAlertDelivery.objects.filter(pk=delivery_id, sent_at__isnull=True).update(
        attempts=F("attempts") + 1, next_attempt_at=timezone.now() + timedelta(seconds=wait),
        last_error=f"{type(exc).__name__}: {exc}"[:500])


def alert_text(alert: LowStockAlert) -> str:
    p = alert.product
    state = "sold out" if alert.available <= 0 else f"{alert.available} left"
    return f"Low stock: {p.display_name} at {p.store.name} is {state} (threshold {alert.threshold})."


def _send_mail(alert: LowStockAlert) -> str:
    recipients = alert_recipients()
    if not recipients:
        return "no recipients: set LOW_STOCK_ALERT_EMAILS or give booth staff an e-mail address"
    p = alert.product
    url = settings.SITE_URL + reverse("admin:inventory_product_change", args=[p.pk])
    body = (f"{alert_text(alert)}\n\nCrossed at {timezone.localtime(alert.crossed_at):%Y-%m-%d %H:%M %Z}.\n"
            f"Restock, move stock from another booth, or switch the product off: {url}\n")
    send_mail(f"Low stock: {p.display_name} ({p.store.name})", body, None, recipients)
    return ""


def _send_webhook(alert: LowStockAlert) -> str:
    url = settings.LOW_STOCK_WEBHOOK_URL
    if not url.startswith(("https://", "http://")):
        raise ValueError(f"LOW_STOCK_WEBHOOK_URL must be an http(s) URL, not {url!r}")
    p = alert.product
    payload = {"text": chat_text_escaped(alert_text(alert)), "alert": alert.pk, "store": p.store_id, "product": p.stripe_product_id,
               "name": p.display_name, "available": alert.available, "threshold": alert.threshold,
               "crossed_at": alert.crossed_at.isoformat()}
    request = urllib.request.Request(url, data=json.dumps(payload).encode(), method="POST", headers={
        "Content-Type": "application/json", "Idempotency-Key": f"low-stock-alert-{alert.pk}",
        "User-Agent": "swagstore-low-stock-alert"})
    with urllib.request.urlopen(request, timeout=settings.LOW_STOCK_WEBHOOK_TIMEOUT_SECONDS) as response:
        return f"HTTP {response.status}"  # urlopen raises HTTPError on 4xx/5xx


SENDERS = {LowStockAlertDelivery.Channel.MAIL: _send_mail, LowStockAlertDelivery.Channel.WEBHOOK: _send_webhook}


def alert_recipients() -> list[str]:
    """LOW_STOCK_ALERT_EMAILS, else every active user with an address who may count a booth."""
    if settings.LOW_STOCK_ALERT_EMAILS:
        return list(settings.LOW_STOCK_ALERT_EMAILS)
    may_count = Q(codename="count_stock", content_type__app_label="inventory")
    users = get_user_model().objects.filter(is_active=True).exclude(email="").filter(
        Q(is_superuser=True)
        | Q(groups__permissions__in=_permissions(may_count))
        | Q(user_permissions__in=_permissions(may_count)))
    return sorted(set(users.values_list("email", flat=True)))


def _permissions(condition: Q):
    return Permission.objects.filter(condition)


# --- the sweeper ------------------------------------------------------------------------------------


def low_stock_alerts_due() -> list[int]:
    """Alerts with a delivery still unsent past its time (plus the sweep grace): their bell was lost,
    or their last attempt failed and its wait is over."""
    due = timezone.now() - timedelta(seconds=settings.DURABLE_SWEEP_GRACE_SECONDS)
    return sorted(set(LowStockAlertDelivery.objects.filter(sent_at__isnull=True, next_attempt_at__lt=due)
                      .values_list("alert_id", flat=True)))


def low_stock_alerts_send_due() -> int:
    """Send what low_stock_alerts_due() finds, here and now (the worker's own sweeper, which must not
    need the broker); failures stay recorded on their deliveries for the next round."""
    sent = 0
    for alert_id in low_stock_alerts_due():
        try:
            sent += low_stock_alert_send(alert_id=alert_id)
        except AlertNotSent as exc:
            log.warning("%s", exc)
    return sent
