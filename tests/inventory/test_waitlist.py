"""The waitlist hears once, when stock comes back."""

import smtplib
import threading

import pytest
from celery.exceptions import Retry
from django.core import mail
from django.core.mail.backends.locmem import EmailBackend

from common.buyers import Buyer
from inventory.models import WaitlistEntry
from inventory.services import stock_decrease, stock_increase
from inventory.tasks import waitlist_notify_task
from inventory.waitlist import WaitlistMailFailed, waitlist_join, waitlist_notify
from tests.race import Worker

pytestmark = pytest.mark.django_db(transaction=True)


def test_restock_mails_each_waiting_address_once(make_product):
    product = make_product(inventory=0, link=False, name="Zip hoodie")
    waitlist_join(product=product, email="Ada@Example.com", buyer=Buyer(ref="ada", address="ada"))
    # the same person again
    waitlist_join(product=product, email="ada@example.com ", buyer=Buyer(ref="ada", address="ada"))
    waitlist_join(product=product, email="bob@example.com", buyer=Buyer(ref="bob", address="bob"))
    assert WaitlistEntry.objects.filter(product=product).count() == 2

    stock_increase(product=product, quantity=3, source="restock-1")
    assert sorted(m.to[0] for m in mail.outbox) == ["ada@example.com", "bob@example.com"]
    assert "Zip hoodie is back" in mail.outbox[0].subject

    stock_decrease(product=product, quantity=3, source="sale-1")
    stock_increase(product=product, quantity=2, source="restock-2")
    assert len(mail.outbox) == 2  # notified once, not at every restock


def test_nothing_is_sent_while_still_sold_out(make_product):
    product = make_product(inventory=0, link=False)
    waitlist_join(product=product, email="ada@example.com", buyer=Buyer(ref="ada", address="ada"))
    stock_increase(product=product, quantity=1, source="restock")
    stock_decrease(product=product, quantity=1, source="sale")
    mail.outbox.clear()
    waitlist_join(product=product, email="cy@example.com", buyer=Buyer(ref="cy", address="cy"))
    assert waitlist_notify(product_id=product.pk) == 0
    assert mail.outbox == []


def test_two_concurrent_notifiers_send_each_mail_once(make_product):
    product = make_product(inventory=0, link=False)
    for n in range(10):
        waitlist_join(product=product, email=f"fan{n}@example.com", buyer=Buyer(ref=f"fan{n}", address=f"fan{n}"))
    # The restock notifies once by itself; then forget that and let two notifiers race for the list.
    stock_increase(product=product, quantity=5, source="restock")
    sent_by_signal = len(mail.outbox)
    WaitlistEntry.objects.update(notified_at=None)
    mail.outbox.clear()
    barrier = threading.Barrier(2)
    workers = [Worker(waitlist_notify, barrier=barrier, product_id=product.pk) for _ in range(2)]
    for worker in workers:
        worker.start()
    results = [w.outcome() for w in workers]
    assert sent_by_signal == 10
    assert sum(results) == 10 and len(mail.outbox) == 10
    assert len({m.to[0] for m in mail.outbox}) == 10


class MailServerRefusing(EmailBackend):
    """The test outbox, except that the server drops the connection for the addresses in `refuse`."""

    refuse: set[str] = set()

    def send_messages(self, messages):
        if any(address in self.refuse for m in messages for address in m.to):
            raise smtplib.SMTPServerDisconnected("Connection unexpectedly closed")
        return super().send_messages(messages)


@pytest.fixture
def mail_server_refusing(settings, monkeypatch):
    settings.EMAIL_BACKEND = f"{__name__}.MailServerRefusing"
    monkeypatch.setattr(MailServerRefusing, "refuse", set())
    return MailServerRefusing.refuse


@pytest.fixture
def waiting_on_restocked_product(make_product):
    # Entries written straight to the table: joining needs the product sold out, mailing needs it back.
    def waiting(*emails: str):
        product = make_product(inventory=3, link=False, name="Camp mug")
        for email in emails:
            WaitlistEntry.objects.create(product=product, email=email)
        return product

    return waiting


def test_a_mail_that_fails_is_not_lost_and_a_retry_sends_only_it(mail_server_refusing, waiting_on_restocked_product):
    # given
    product = waiting_on_restocked_product("ada@example.com", "bob@example.com", "cy@example.com")
    mail_server_refusing.add("bob@example.com")

    # when: the server drops bob's mail
    with pytest.raises(WaitlistMailFailed):
        waitlist_notify(product_id=product.pk)

    # then: the others are mailed and marked, bob still waits
    assert sorted(m.to[0] for m in mail.outbox) == ["ada@example.com", "cy@example.com"]
    waiting = WaitlistEntry.objects.filter(product=product, notified_at__isnull=True)
    assert list(waiting.values_list("email", flat=True)) == ["bob@example.com"]

    # when: the server is back and the task retries
    mail_server_refusing.clear()
    assert waitlist_notify_task.apply(args=[product.pk]).get() == 1

    # then: bob gets his mail, nobody gets a second one
    assert sorted(m.to[0] for m in mail.outbox) == ["ada@example.com", "bob@example.com", "cy@example.com"]
    assert not waiting.exists()


def test_the_task_asks_to_retry_while_the_mail_server_is_down(mail_server_refusing, waiting_on_restocked_product):
    product = waiting_on_restocked_product("ada@example.com")
    mail_server_refusing.add("ada@example.com")

    with pytest.raises(Retry) as retry:
        waitlist_notify_task.apply(args=[product.pk])

    assert isinstance(retry.value.exc, WaitlistMailFailed)
    assert mail.outbox == []
    assert WaitlistEntry.objects.get(product=product).notified_at is None
