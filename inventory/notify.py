"""The notify queue: low-stock alert deliveries and staff notices of failed work, sent by the work
engine (common/work.py) in workers of their own, so a slow chat service never delays a sale.

Each row is one channel of one message (e-mail, or the chat webhook), leased while it is sent and
marked sent only once its own send succeeded, so a failing channel is retried alone and the other
is never sent twice. A send that may pass (timeout, 5xx, the mail server away) is retried with
backoff; a send that cannot succeed as configured (a refused address, a redirect, a 4xx) and one
out of ALERT_MAX_ATTEMPTS tries is set aside with its reason, on the dashboard and in the admin.
The webhook has a total deadline per send and never follows a redirect (common/outbound.py).
"""

import ipaddress
import logging
import time

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.mail import send_mail
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from common.outbound import OutboundRefused, post_json
from common.work import KINDS, WorkKind, retry_delay, work_claim, work_kind_register, work_quarantine, work_try_failed

from .alerts import alert_recipients, low_stock_mail, low_stock_payload
from .models import LowStockAlertDelivery, WorkFailureNotice

log = logging.getLogger(__name__)
CLAIM_BATCH = 10

ALERT_DELIVERY = work_kind_register(WorkKind(
    name="alert_delivery", label="Low-stock alert", model=LowStockAlertDelivery, queue="notify",
    waiting=Q(sent_at__isnull=True), max_attempts=lambda: settings.ALERT_MAX_ATTEMPTS,
    describe=lambda d: f"{d.alert_id} by {d.channel}"))

WORK_NOTICE = work_kind_register(WorkKind(
    name="work_notice", label="Staff notice", model=WorkFailureNotice, queue="notify",
    waiting=Q(sent_at__isnull=True), max_attempts=lambda: settings.ALERT_MAX_ATTEMPTS, born="created_at",
    describe=lambda n: f"{n.pk} by {n.channel} ({n.subject})"))


def notify_drain(*, seconds: float, only: tuple[WorkKind, Q] | None = None) -> tuple[int, list[str]]:
    """Send due deliveries and notices (`only`: those of one kind matching a filter) until none is
    due or `seconds` have passed. Returns how many were sent and the errors of those that failed."""
    targets = [only] if only else [(ALERT_DELIVERY, Q()), (WORK_NOTICE, Q())]
    deadline, sent, failed = time.monotonic() + seconds, 0, []
    while time.monotonic() < deadline:
        claimed = [(kind, row) for kind, where in targets
                   for row in work_claim(kind, limit=CLAIM_BATCH, lease_seconds=_lease_seconds(), where=where)]
        if not claimed:
            break
        for kind, row in claimed:
            error = _send(kind, row)
            sent += error is None
            failed += [f"{row.channel}: {error}"] if error else []
    return sent, failed


class AlertNotSent(Exception):
    """Some channel of an alert failed; its delivery stays recorded for the next try or for staff."""


def low_stock_alert_send(*, alert_id: int) -> int:
    """Send every due channel of one alert now; returns how many were sent. Raises AlertNotSent,
    after trying every channel, when any failed."""
    sent, failed = notify_drain(seconds=settings.LOW_STOCK_WEBHOOK_TIMEOUT_SECONDS + 60,
                                only=(ALERT_DELIVERY, Q(alert_id=alert_id)))
    if failed:
        raise AlertNotSent(f"low-stock alert {alert_id} not sent by {'; '.join(failed)}")
    return sent


def _lease_seconds() -> float:
    # The webhook's deadline, or a mail server's own timeouts, with room to record the outcome.
    return settings.LOW_STOCK_WEBHOOK_TIMEOUT_SECONDS + 60


def _send(kind: WorkKind, row) -> str | None:
    """One send; returns None when sent, else the error (recorded on the row)."""
    try:
        note = SENDERS[kind.name][row.channel](row)
    except (OutboundRefused, ImproperlyConfigured, ValueError) as exc:
        work_quarantine(kind, pks=[row.pk], reason=f"{type(exc).__name__}: {exc}")
        return str(exc)
    except Exception as exc:  # any channel's failure is recorded; the other channels still go
        error = f"{type(exc).__name__}: {exc}"
        delay = retry_delay(attempts=row.attempts, base=settings.ALERT_RETRY_BASE_SECONDS,
                            cap=settings.ALERT_RETRY_MAX_SECONDS)
        work_try_failed(kind, row, error=error, delay=delay)
        log.warning("%s %s not sent (try %s): %s", kind.label, kind.describe(row), row.attempts, error)
        return error
    kind.model.objects.filter(pk=row.pk, sent_at__isnull=True).update(sent_at=timezone.now(), locked_until=None,
                                                                      last_error=note[:500])
    return None


def _alert_mail(delivery: LowStockAlertDelivery) -> str:
    recipients = alert_recipients()
    if not recipients:
        return "no recipients: set LOW_STOCK_ALERT_EMAILS or give booth staff an e-mail address"
    subject, body = low_stock_mail(delivery.alert)
    send_mail(subject, body, None, recipients)
    return ""


def _alert_webhook(delivery: LowStockAlertDelivery) -> str:
    alert = delivery.alert
    return _post(low_stock_payload(alert), idempotency_key=f"low-stock-alert-{alert.pk}")


def _notice_mail(notice: WorkFailureNotice) -> str:
    recipients = alert_recipients()
    if not recipients:
        return "no recipients: set LOW_STOCK_ALERT_EMAILS or give booth staff an e-mail address"
    send_mail(notice.subject, notice.text, None, recipients)
    return ""


def _notice_webhook(notice: WorkFailureNotice) -> str:
    return _post({"text": f"{notice.subject}\n{notice.text}"}, idempotency_key=f"work-notice-{notice.pk}")


def _post(payload: dict, *, idempotency_key: str) -> str:
    url = settings.LOW_STOCK_WEBHOOK_URL
    if not url:
        raise ImproperlyConfigured("LOW_STOCK_WEBHOOK_URL is no longer set")
    status = post_json(url, payload, deadline_seconds=settings.LOW_STOCK_WEBHOOK_TIMEOUT_SECONDS,
                       headers={"Idempotency-Key": idempotency_key, "User-Agent": "swagstore-alert"},
                       allowed_networks=allowed_networks())
    return f"HTTP {status}"


def allowed_networks() -> tuple:
    return tuple(ipaddress.ip_network(network, strict=False)
                 for network in settings.LOW_STOCK_WEBHOOK_ALLOWED_NETWORKS)


SENDERS = {
    ALERT_DELIVERY.name: {"mail": _alert_mail, "webhook": _alert_webhook},
    WORK_NOTICE.name: {"mail": _notice_mail, "webhook": _notice_webhook},
}


# --- staff notices of failed work (common/work.py's work_failed) ----------------------------------


def work_failure_notice_record(*, kind: str, pk, reason: str) -> int:
    """One notice per channel, in the transaction that set the work aside; sent by the notify queue.
    A notice that fails itself is not announced again: it shows on the dashboard instead."""
    work_kind = KINDS.get(kind)
    if work_kind is None or work_kind is WORK_NOTICE:
        return 0
    row = work_kind.model.objects.filter(pk=pk).first()
    what = f"{work_kind.label} {work_kind.describe(row) if row else pk}"
    admin_url = settings.SITE_URL + reverse(
        f"admin:{work_kind.model._meta.app_label}_{work_kind.model._meta.model_name}_changelist")
    text = (f"{what} was set aside and will not be retried by itself.\nWhy: {reason}\n"
            f"Fix the cause, then retry it from the admin: {admin_url}?failed=yes\n")
    channels = ["mail"] + (["webhook"] if settings.LOW_STOCK_WEBHOOK_URL else [])
    now = timezone.now()
    WorkFailureNotice.objects.bulk_create(
        WorkFailureNotice(channel=channel, subject=f"Set aside: {what}"[:200], text=text, next_attempt_at=now)
        for channel in channels)
    return len(channels)
