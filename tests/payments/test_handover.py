"""The receipt and the hand-over: every paid sale gets a code the buyer shows, staff hand it over once."""

import re
import uuid

import pytest
from django.urls import reverse

from backoffice.roles import booth_staff_user_ensure
from payments.handover.selectors import ReceiptNotFound, receipt_code_normalise, sale_get, sale_list
from payments.handover.services import HandOverRefused, sale_hand_over
from payments.models import Checkout, Order
from payments.models.receipts import RECEIPT_CODE_ALPHABET
from tests.factories import variants_create
from tests.payments.helpers import (authorise, checkout_for, intent_event, payment_link_at, purchase,
                                    run_in_threads, stocked_product)

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def volunteer(db):
    user, _ = booth_staff_user_ensure(username=f"vol-{uuid.uuid4().hex[:6]}", password="pw-volunteer-1")
    return user


@pytest.fixture
def staff_client(client, volunteer):
    client.force_login(volunteer)
    return client


def link_sale(fake, webhook, client, product, quantity: int = 1) -> Order:
    event = purchase(fake, product, quantity=quantity)
    assert webhook.post(client, event).status_code == 200
    return Order.objects.get(checkout_session_id=event["data"]["object"]["id"])


def checkout_sale(fake, webhook, client, product) -> Checkout:
    checkout = checkout_for(product)
    authorise(fake, checkout)
    event = intent_event(fake, checkout, "payment_intent.amount_capturable_updated", "requires_capture")
    assert webhook.post(client, event).status_code == 200
    checkout.refresh_from_db()
    assert checkout.status == Checkout.Status.PAID
    return checkout


def test_every_sale_gets_its_own_short_unambiguous_code(stripe_fake, webhook, client):
    # given: a Payment Link sale and a checkout sale
    product = stocked_product(stripe_fake, 5)
    order = link_sale(stripe_fake, webhook, client, product)
    checkout = checkout_sale(stripe_fake, webhook, client, product)

    # then
    codes = {order.receipt_code, checkout.receipt_code}
    assert len(codes) == 2
    for code in codes:
        assert len(code) == 8 and set(code) <= set(RECEIPT_CODE_ALPHABET)
        assert not set(code) & set("01OILSZB58UV")  # nothing two people could read differently
    assert re.fullmatch(r"[0-9A-Z]{4}-[0-9A-Z]{4}", order.receipt_code_display)


@pytest.mark.parametrize("typed", ["{code}", "{lower}", " {dashed} ", "{spaced}",
                                   "http://127.0.0.1:8000/staff/hand-over/?code={code}"])
def test_a_code_is_found_however_it_is_typed_or_scanned(stripe_fake, webhook, client, typed):
    order = link_sale(stripe_fake, webhook, client, stocked_product(stripe_fake, 5))
    code = order.receipt_code
    text = typed.format(code=code, lower=code.lower(), dashed=order.receipt_code_display,
                        spaced=f"{code[:4]} {code[4:]}")

    assert receipt_code_normalise(text) == code
    assert sale_get(code=text).pk == str(order.pk)


@pytest.mark.parametrize("text", ["", "K7MQ", "K7MQ4QXP9", "O0O0-IIII", "<script>"])
def test_what_cannot_be_a_code_finds_nothing(text):
    assert receipt_code_normalise(text) == ""
    with pytest.raises(ReceiptNotFound):
        sale_get(code=text)


def test_a_sale_is_handed_over_once_and_the_second_scan_says_when_and_by_whom(stripe_fake, webhook, client,
                                                                              volunteer):
    checkout = checkout_sale(stripe_fake, webhook, client, stocked_product(stripe_fake, 5))

    # when
    sale = sale_hand_over(code=checkout.receipt_code, user=volunteer)

    # then
    assert sale.collected_at is not None and sale.collected_by == volunteer.username
    with pytest.raises(HandOverRefused) as second:
        sale_hand_over(code=checkout.receipt_code, user=volunteer)
    assert f"Already handed over by {volunteer.username}" in str(second.value)
    assert second.value.sale.collected_at == sale.collected_at  # unchanged
    checkout.refresh_from_db()
    assert checkout.collected_by == volunteer and checkout.collected_at == sale.collected_at


def test_two_volunteers_scanning_at_once_hand_over_once(stripe_fake, webhook, client, volunteer):
    order = link_sale(stripe_fake, webhook, client, stocked_product(stripe_fake, 5))
    other, _ = booth_staff_user_ensure(username=f"vol-{uuid.uuid4().hex[:6]}", password="pw-volunteer-2")

    results = run_in_threads(lambda user: sale_hand_over(code=order.receipt_code, user=user),
                             [(volunteer,), (other,)] * 4)

    handed = [r for r in results if not isinstance(r, Exception)]
    refused = [r for r in results if isinstance(r, HandOverRefused)]
    assert (len(handed), len(refused)) == (1, 7)
    order.refresh_from_db()
    assert order.collected_by.username == handed[0].collected_by


def test_money_given_back_is_never_handed_over(stripe_fake, webhook, client, volunteer):
    # given: the last unit sold twice through the link; the second payment is cancelled
    product = stocked_product(stripe_fake, 1)
    link_sale(stripe_fake, webhook, client, product)
    oversold = link_sale(stripe_fake, webhook, client, product)
    assert oversold.status in (Order.Status.CANCELLED, Order.Status.REFUNDED)

    with pytest.raises(HandOverRefused) as refused:
        sale_hand_over(code=oversold.receipt_code, user=volunteer)

    assert "Do not hand over" in str(refused.value)
    oversold.refresh_from_db()
    assert oversold.collected_at is None


def test_an_unpaid_checkout_is_not_a_sale_to_hand_over(stripe_fake, volunteer):
    checkout = checkout_for(stocked_product(stripe_fake, 5))  # held, never paid

    with pytest.raises(HandOverRefused, match="not paid"):
        sale_hand_over(code=checkout.receipt_code, user=volunteer)
    assert sale_list() == []  # a hold nobody paid for is not a sale


def test_one_list_holds_every_path_with_product_and_size(stripe_fake, webhook, client, volunteer):
    # given: a tee in sizes sold through its link, a mug sold through our checkout
    sizes = variants_create(sizes={"S": 3, "M": 3}, name="Logo tee", link_at=payment_link_at(stripe_fake))
    order = link_sale(stripe_fake, webhook, client, sizes["M"], quantity=2)
    mug = stocked_product(stripe_fake, 5, name="Camp mug", store=sizes["M"].store)
    checkout = checkout_sale(stripe_fake, webhook, client, mug)

    # when
    sales = sale_list(store_id=sizes["M"].store_id)

    # then: newest first, each with what was bought
    assert [(s.kind, s.receipt_code) for s in sales] == [("checkout", checkout.receipt_code),
                                                          ("order", order.receipt_code)]
    assert [(line.name, line.size, line.quantity) for line in sales[1].lines] == [("Logo tee", "M", 2)]
    assert [(line.name, line.size, line.quantity) for line in sales[0].lines] == [("Camp mug", "", 1)]


# --- the pages --------------------------------------------------------------------------------------

def test_the_thank_you_page_shows_the_receipt_code_qr_items_booth_and_time(stripe_fake, webhook, client):
    product = stocked_product(stripe_fake, 5, name="Enamel pin")
    order = link_sale(stripe_fake, webhook, client, product, quantity=2)

    page = client.get(reverse("payments:thanks", args=[product.store_id]),
                      {"session_id": order.checkout_session_id}).content.decode()

    assert order.receipt_code_display in page
    assert "2 ×</span> Enamel pin" in page and "$50.00" in page and product.store.name in page
    assert "<svg" in page and 'data-receipt="%s"' % order.receipt_code in page


def test_the_checkout_page_shows_the_receipt_once_paid(stripe_fake, webhook, client):
    checkout = checkout_sale(stripe_fake, webhook, client, stocked_product(stripe_fake, 5))

    page = client.get(reverse("payments:checkout_page", args=[checkout.pk])).content.decode()

    assert checkout.receipt_code_display in page and "Your receipt" in page


def test_the_checkout_page_shows_no_receipt_before_payment(stripe_fake, client):
    checkout = checkout_for(stocked_product(stripe_fake, 5))

    page = client.get(reverse("payments:checkout_page", args=[checkout.pk])).content.decode()

    assert checkout.receipt_code_display not in page and "data-receipt" not in page


def test_staff_look_up_hand_over_and_are_refused_a_second_time(stripe_fake, webhook, client, staff_client,
                                                               volunteer):
    order = link_sale(stripe_fake, webhook, client, stocked_product(stripe_fake, 5, name="Tote bag"))
    volunteer.booths.add(order.store)
    url = reverse("backoffice:hand_over")

    looked_up = staff_client.get(url, {"code": order.receipt_code_display.lower()})
    assert looked_up.status_code == 200
    assert "Tote bag" in looked_up.content.decode() and "data-hand-over" in looked_up.content.decode()

    handed = staff_client.post(url, {"code": order.receipt_code})
    assert handed.status_code == 200 and "Handed over." in handed.content.decode()

    again = staff_client.post(url, {"code": order.receipt_code})
    assert again.status_code == 409
    assert f"Already handed over by {volunteer.username}, " in again.content.decode()
    assert "data-hand-over" not in again.content.decode()


@pytest.mark.parametrize("code, status, says", [
    ("K7MQ", 400, "A receipt code has 8 letters and digits"),
    ("AAAA-AAAA", 404, "No sale has the receipt code"),
])
def test_staff_are_told_what_is_wrong_with_a_code(staff_client, code, status, says):
    for response in (staff_client.get(reverse("backoffice:hand_over"), {"code": code}),
                     staff_client.post(reverse("backoffice:hand_over"), {"code": code})):
        assert response.status_code == status and says in response.content.decode()


def test_the_sales_page_lists_every_sale_for_staff(stripe_fake, webhook, client, staff_client, volunteer):
    order = link_sale(stripe_fake, webhook, client, stocked_product(stripe_fake, 5, name="Tote bag"))
    volunteer.booths.add(order.store)

    page = staff_client.get(reverse("backoffice:sales")).content.decode()

    assert order.receipt_code_display in page and "Tote bag" in page and "Waiting" in page


def test_staff_of_another_booth_neither_see_nor_hand_over_its_sales(stripe_fake, webhook, client, staff_client):
    # given: a sale at a booth the volunteer is not on the staff of
    order = link_sale(stripe_fake, webhook, client, stocked_product(stripe_fake, 5, name="Tote bag"))
    url = reverse("backoffice:hand_over")

    # then: not listed, not shown, not handed over
    assert order.receipt_code_display not in staff_client.get(reverse("backoffice:sales")).content.decode()
    assert staff_client.get(reverse("backoffice:sales"), {"store": order.store_id}).status_code == 403
    assert staff_client.get(url, {"code": order.receipt_code}).status_code == 403
    assert staff_client.post(url, {"code": order.receipt_code}).status_code == 403
    order.refresh_from_db()
    assert order.collected_at is None and order.collected_by is None


def test_hand_over_needs_the_permission(client, db):
    from django.contrib.auth import get_user_model

    user = get_user_model().objects.create_user("clerk", password="pw-clerk-123", is_staff=True)
    client.force_login(user)

    assert client.get(reverse("backoffice:hand_over")).status_code == 403
    assert client.get(reverse("backoffice:sales")).status_code == 403
