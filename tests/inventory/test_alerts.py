"""Low-stock alerts: written with the stock change, sent once per crossing and per channel, after
commit by the notify queue, which retries a failed channel alone, picked up by the sweep when the bell is lost."""

import json
import smtplib
import threading
import time
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.core import mail
from django.core.mail.backends.locmem import EmailBackend
from django.urls import reverse
from django.utils import timezone

from inventory.notify import AlertNotSent, low_stock_alert_send
from inventory.catalogue import products_store_fields_set
from inventory.models import LowStockAlert, LowStockAlertDelivery
from inventory.services import stock_decrease, stock_increase
from payments.tasks import durable_work_sweep
from tests import factories
from tests.race import Worker

MAIL, WEBHOOK = LowStockAlertDelivery.Channel.MAIL, LowStockAlertDelivery.Channel.WEBHOOK


class FlakyBackend(EmailBackend):
    """The test outbox, except while `failing` is set: then the server drops the connection."""

    failing = False
    delay = 0.0

    def send_messages(self, messages):
        if FlakyBackend.delay:
            time.sleep(FlakyBackend.delay)
        if FlakyBackend.failing:
            raise smtplib.SMTPServerDisconnected("Connection unexpectedly closed")
        return super().send_messages(messages)


class ChatWebhook:
    """A chat channel's incoming webhook on loopback: records each JSON body it is posted."""

    def __init__(self):
        received = self.received = []

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                received.append((json.loads(body), self.headers.get("Idempotency-Key")))
                self.send_response(200)
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/booth"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def alert_settings(settings):
    settings.EMAIL_BACKEND = "tests.inventory.test_alerts.FlakyBackend"
    settings.LOW_STOCK_ALERT_EMAILS = ["booth-lead@example.com"]
    settings.DURABLE_SWEEP_GRACE_SECONDS = 0
    FlakyBackend.failing, FlakyBackend.delay = False, 0.0
    mail.outbox = []
    yield settings
    FlakyBackend.failing, FlakyBackend.delay = False, 0.0


@pytest.fixture
def chat(alert_settings):
    hook = ChatWebhook()
    alert_settings.LOW_STOCK_WEBHOOK_URL = hook.url
    alert_settings.LOW_STOCK_WEBHOOK_ALLOWED_NETWORKS = ["127.0.0.1/32"]  # the chat service, here
    yield hook
    hook.close()


def low_stock_product(stock: int, threshold: int):
    return factories.product_create(inventory=stock, low_stock_threshold=threshold, link=False, name="Enamel mug")


def sell(product, quantity: int, tag: str):
    return stock_decrease(product=product, quantity=quantity, source=f"cs_{tag}_{product.pk}")


def subjects() -> list[str]:
    return [m.subject for m in mail.outbox]


@pytest.mark.django_db
def test_one_mail_per_crossing_and_crossing_back_re_arms(alert_settings, django_capture_on_commit_callbacks):
    # given: 6 mugs, low at 3 or fewer
    mug = low_stock_product(6, 3)

    # when / then: above the threshold, nothing
    with django_capture_on_commit_callbacks(execute=True):
        sell(mug, 2, "a")
    assert mail.outbox == []

    # crossing: one mail, to the configured address, naming the product, the booth and what is left
    with django_capture_on_commit_callbacks(execute=True):
        sell(mug, 1, "b")
    assert subjects() == [f"Low stock: Enamel mug ({mug.store.name})"]
    assert mail.outbox[0].to == ["booth-lead@example.com"] and "3 left (threshold 3)" in mail.outbox[0].body

    # still low, then sold out: the same crossing, no more mail
    with django_capture_on_commit_callbacks(execute=True):
        sell(mug, 1, "c")
        sell(mug, 2, "d")
    assert len(mail.outbox) == 1

    # back above the threshold re-arms; the next crossing mails again
    with django_capture_on_commit_callbacks(execute=True):
        stock_increase(product=mug, quantity=10, source="restock-mugs")
        sell(mug, 8, "e")
    assert len(mail.outbox) == 2 and "2 left" in mail.outbox[1].body
    alerts = list(LowStockAlert.objects.filter(product=mug).order_by("id"))
    assert [(a.available, a.rearmed_at is not None) for a in alerts] == [(3, True), (2, False)]


@pytest.mark.django_db
def test_a_failing_mail_server_never_makes_the_webhook_send_twice(chat, django_capture_on_commit_callbacks):
    # given: a first crossing sent by both channels
    mug = low_stock_product(5, 3)
    with django_capture_on_commit_callbacks(execute=True):
        sell(mug, 2, "first")
    assert (len(mail.outbox), len(chat.received)) == (1, 1)
    body, key = chat.received[0]
    assert body["text"].startswith("Low stock: Enamel mug") and body["available"] == 3 and body["threshold"] == 3
    assert key == f"low-stock-alert-{body['alert']}"

    # when: restocked (re-armed), then the mail server fails as the product crosses again; the
    # notify task records the failure on the mail's delivery row (its next try after a backoff)
    FlakyBackend.failing = True
    with django_capture_on_commit_callbacks(execute=True):
        stock_increase(product=mug, quantity=10, source="restock-1")
    with django_capture_on_commit_callbacks(execute=True):
        sell(mug, 10, "second")
    second = LowStockAlert.objects.get(product=mug, rearmed_at__isnull=True)
    mail_delivery = second.deliveries.get(channel=MAIL)
    assert mail_delivery.sent_at is None and mail_delivery.attempts == 1
    assert "SMTPServerDisconnected" in mail_delivery.last_error
    # the retry, once its wait is over, as the worker would run it: the mail fails again, the webhook is not resent
    LowStockAlertDelivery.objects.filter(pk=mail_delivery.pk).update(next_attempt_at=timezone.now())
    with pytest.raises(AlertNotSent) as failure:
        low_stock_alert_send(alert_id=second.pk)
    assert "mail: SMTPServerDisconnected: Connection unexpectedly closed" in str(failure.value)

    # then: the webhook went out once for the second crossing, however many times the task ran
    assert (len(mail.outbox), len(chat.received)) == (1, 2)
    mail_delivery.refresh_from_db()
    assert mail_delivery.sent_at is None and mail_delivery.attempts == 2
    assert second.deliveries.get(channel=WEBHOOK).sent_at is not None

    # when: the server is back and the retry's wait is over, the sweep rings and the mail goes alone
    FlakyBackend.failing = False
    LowStockAlertDelivery.objects.filter(pk=mail_delivery.pk).update(next_attempt_at=timezone.now() - timedelta(seconds=1))
    durable_work_sweep()
    durable_work_sweep()  # nothing left to send

    # then
    assert (len(mail.outbox), len(chat.received)) == (2, 2)
    assert not LowStockAlertDelivery.objects.filter(sent_at__isnull=True).exists()


@pytest.mark.django_db
def test_a_product_name_cannot_ping_the_channel_or_hide_a_link(chat, django_capture_on_commit_callbacks):
    mug = factories.product_create(inventory=5, low_stock_threshold=3, link=False,
                                   name="<!channel> <https://evil.example|Invoice> & @here")
    with django_capture_on_commit_callbacks(execute=True):
        sell(mug, 2, "crossing")

    ((body, _),) = chat.received
    assert "<" not in body["text"] and ">" not in body["text"]
    assert "&lt;!channel&gt; &lt;https://evil.example|Invoice&gt; &amp; @\u2060here" in body["text"]
    assert mail.outbox[0].subject.startswith("Low stock: <!channel>")  # mail is plain text: the name as typed


@pytest.mark.django_db
def test_a_lost_bell_is_rung_again_by_the_sweeper(alert_settings, django_capture_on_commit_callbacks):
    mug = low_stock_product(4, 3)

    # the stock change commits, but its bell never reaches a worker
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        sell(mug, 1, "lost-bell")
    assert callbacks and mail.outbox == []

    durable_work_sweep()

    assert len(mail.outbox) == 1
    assert LowStockAlertDelivery.objects.get(alert__product=mug).sent_at is not None


@pytest.mark.django_db
def test_a_new_threshold_can_cross_by_itself(alert_settings, django_capture_on_commit_callbacks):
    mug = low_stock_product(6, 3)

    with django_capture_on_commit_callbacks(execute=True):
        products_store_fields_set(updates={mug.pk: {"low_stock_threshold": 10}})

    assert len(mail.outbox) == 1 and "6 left (threshold 10)" in mail.outbox[0].body


@pytest.mark.django_db
def test_without_configured_addresses_booth_staff_get_the_mail(settings, django_capture_on_commit_callbacks,
                                                               django_user_model):
    from backoffice.roles import booth_staff_user_ensure

    settings.LOW_STOCK_ALERT_EMAILS = []
    mail.outbox = []
    booth_staff_user_ensure(username="volunteer", email="volunteer@example.com")
    django_user_model.objects.create_user("visitor", email="visitor@example.com", password="x-visitor-1")
    mug = low_stock_product(4, 3)

    with django_capture_on_commit_callbacks(execute=True):
        sell(mug, 1, "staff")

    assert [m.to for m in mail.outbox] == [["volunteer@example.com"]]


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("eager_tasks_in_threads")
def test_two_senders_at_once_send_the_mail_once(alert_settings):
    # given: an alert whose bell rang twice (say the task and the sweeper), and a slow mail server
    mug = low_stock_product(10, 3)
    alert = LowStockAlert.objects.create(product=mug, available=2, threshold=3)
    LowStockAlertDelivery.objects.create(alert=alert, channel=MAIL, next_attempt_at=timezone.now())
    FlakyBackend.delay = 0.5
    barrier = threading.Barrier(2)

    # when
    senders = [Worker(low_stock_alert_send, barrier=barrier, alert_id=alert.pk) for _ in range(2)]
    for s in senders:
        s.start()

    # then: one claimed it and sent it; the other skipped the locked row
    assert sorted(s.outcome() for s in senders) == [0, 1]
    assert len(mail.outbox) == 1


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("eager_tasks_in_threads")
def test_buyers_crossing_the_threshold_together_raise_one_alert(alert_settings):
    mug = low_stock_product(16, 5)  # 12 sales end at 4, crossing at 5
    barrier = threading.Barrier(12)

    buyers = [Worker(sell, barrier=barrier, product=mug, quantity=1, tag=f"together{i}") for i in range(12)]
    for b in buyers:
        b.start()
    for b in buyers:
        b.outcome()

    assert LowStockAlert.objects.filter(product=mug).count() == 1
    assert len(mail.outbox) == 1


@pytest.mark.django_db
@pytest.mark.parametrize("url, what", [("http://127.0.0.1:9/hooks/booth", "127.0.0.1, a loopback address"),
                                       ("http://10.0.0.7/hooks/booth", "10.0.0.7, a private address"),
                                       ("http://169.254.169.254/latest/meta-data/",
                                        "169.254.169.254, a link-local (metadata) address")])
def test_an_alert_webhook_to_a_private_address_is_refused_with_its_reason(
        alert_settings, url, what, caplog, admin_client, django_capture_on_commit_callbacks):
    # given: a chat webhook URL that points inside the deploy's own network
    alert_settings.LOW_STOCK_WEBHOOK_URL = url
    mug = low_stock_product(4, 3)

    # when: the product crosses its threshold
    with django_capture_on_commit_callbacks(execute=True):
        sell(mug, 1, "private")

    # then: the mail went, the webhook was refused before connecting and set aside with the reason,
    # staff were told by mail, and the reason is in the log and in the admin's list of failed deliveries
    delivery = LowStockAlertDelivery.objects.get(alert__product=mug, channel=WEBHOOK)
    assert delivery.sent_at is None and delivery.failed_at is not None and delivery.attempts == 1
    assert what in delivery.last_error and "refused" in delivery.last_error
    assert subjects()[0] == f"Low stock: Enamel mug ({mug.store.name})"
    assert [s for s in subjects() if s.startswith("Set aside: Low-stock alert")] == [
        f"Set aside: Low-stock alert {delivery.alert_id} by webhook"]
    assert any(what in record.getMessage() for record in caplog.records)
    page = admin_client.get(reverse("admin:inventory_lowstockalertdelivery_changelist") + "?failed=yes")
    assert what in page.content.decode()
