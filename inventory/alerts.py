"""Low-stock alerts: PostgreSQL remembers, Redis rings the bell.

A product that crosses into low stock (Product.objects.needing_restock(): at or under its threshold,
sold out included) gets a LowStockAlert row in the very transaction that moved its stock, with one
delivery row per channel (e-mail, and the webhook when LOW_STOCK_WEBHOOK_URL is set). After commit
the notify queue's bell rings; its workers send the deliveries (inventory/notify.py), each marked
sent only once its own send succeeded. A product back above its threshold re-arms: its next
crossing alerts again.
"""

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from common.chat import chat_text_escaped

from .models import LowStockAlert, LowStockAlertDelivery, Product
from .signals import low_stock_alert_opened


# --- in the stock change's transaction -------------------------------------------------------------


def low_stock_alert_check(*, product_id: int, known: tuple[int, int] | None = None) -> LowStockAlert | None:
    """Open an alert if the product is now low and none is open; re-arm if it is no longer low.

    Called inside the transaction that changed the product's stock, holds or threshold (stock_moved),
    which normally holds the product's row lock. The partial unique index (one open alert per
    product) makes a crossing alert once even if two transactions see it together. `known`:
    (available, threshold) as the caller read them under that lock, so they are not read again.
    Triggers (after commit): the send task, when an alert was opened. Returns the new alert.
    """
    if known is not None:
        low = known if known[0] <= known[1] else None
    else:
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


# --- what is sent --------------------------------------------------------------------------------


def alert_text(alert: LowStockAlert) -> str:
    p = alert.product
    state = "sold out" if alert.available <= 0 else f"{alert.available} left"
    return f"Low stock: {p.display_name} at {p.store.name} is {state} (threshold {alert.threshold})."


def low_stock_mail(alert: LowStockAlert) -> tuple[str, str]:
    """The alert's e-mail: subject and body."""
    p = alert.product
    url = settings.SITE_URL + reverse("admin:inventory_product_change", args=[p.pk])
    body = (f"{alert_text(alert)}\n\nCrossed at {timezone.localtime(alert.crossed_at):%Y-%m-%d %H:%M %Z}.\n"
            f"Restock, move stock from another booth, or switch the product off: {url}\n")
    return f"Low stock: {p.display_name} ({p.store.name})", body


def low_stock_payload(alert: LowStockAlert) -> dict:
    """The alert as the chat webhook gets it (a "text" field, and the facts for a bot)."""
    p = alert.product
    return {"text": chat_text_escaped(alert_text(alert)), "alert": alert.pk, "store": p.store_id, "product": p.stripe_product_id,
            "name": p.display_name, "available": alert.available, "threshold": alert.threshold,
            "crossed_at": alert.crossed_at.isoformat()}


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
