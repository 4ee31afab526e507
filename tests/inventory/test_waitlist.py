"""The waitlist hears once, when stock comes back."""

import threading

import pytest
from django.core import mail

from inventory.models import WaitlistEntry
from inventory.services import stock_decrease, stock_increase
from inventory.waitlist import waitlist_join
from tests import factories
from tests.race import Worker

pytestmark = pytest.mark.django_db(transaction=True)


def test_restock_mails_each_waiting_address_once():
    product = factories.product(inventory=0, link=False, name="Zip hoodie")
    waitlist_join(product=product, email="Ada@Example.com", client_ref="ada")
    waitlist_join(product=product, email="ada@example.com ", client_ref="ada")  # the same person again
    waitlist_join(product=product, email="bob@example.com", client_ref="bob")
    assert WaitlistEntry.objects.filter(product=product).count() == 2

    stock_increase(product=product, quantity=3, source="restock-1")
    assert sorted(m.to[0] for m in mail.outbox) == ["ada@example.com", "bob@example.com"]
    assert "Zip hoodie is back" in mail.outbox[0].subject

    stock_decrease(product=product, quantity=3, source="sale-1")
    stock_increase(product=product, quantity=2, source="restock-2")
    assert len(mail.outbox) == 2  # notified once, not at every restock


def test_nothing_is_sent_while_still_sold_out():
    product = factories.product(inventory=0, link=False)
    waitlist_join(product=product, email="ada@example.com", client_ref="ada")
    stock_increase(product=product, quantity=1, source="restock")
    stock_decrease(product=product, quantity=1, source="sale")
    mail.outbox.clear()
    waitlist_join(product=product, email="cy@example.com", client_ref="cy")
    product.refresh_from_db()
    from inventory.waitlist import waitlist_notify

    assert waitlist_notify(product_id=product.pk) == 0
    assert mail.outbox == []


def test_two_concurrent_notifiers_send_each_mail_once():
    from inventory.waitlist import waitlist_notify

    product = factories.product(inventory=0, link=False)
    for n in range(10):
        waitlist_join(product=product, email=f"fan{n}@example.com", client_ref=f"fan{n}")
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
