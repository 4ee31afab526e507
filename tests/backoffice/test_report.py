"""The end-of-day report against a known day of sales, made through the real purchase path
(signed webhooks, offline Stripe, in-process workers), then placed at known times of one day."""

import csv
import io
from datetime import date, datetime, time, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from backoffice.report import day_report, stripe_fee
from backoffice.report_views import day_report_as_csv
from common.buyers import Buyer
from inventory.models import StockMovement
from payments.checkout.services import CheckoutRequestLine, checkout_start
from payments.gateway import get_gateway
from payments.models import Checkout, Order, StripeJob
from payments.offline.simulator import checkout_session_completed, offline_payment_link_shape, payment_intent_event
from tests import factories
from tests.conftest import WEBHOOK_SECRET

pytestmark = pytest.mark.django_db(transaction=True)
DAY = date(2026, 3, 14)


def at(hour: int, minute: int = 0, day: date = DAY) -> datetime:
    return timezone.make_aware(datetime.combine(day, time(hour, minute)))


def sellable(store, stock: int, name: str, price: int):
    product = factories.product_create(store=store, inventory=stock, name=name, unit_amount=price)
    get_gateway().notebook_put(offline_payment_link_shape(product=product, url=product.payment_link_url))
    return product


def link_purchase(client, webhook, product, quantity: int, capture: str) -> str:
    delivery = checkout_session_completed(product=product, quantity=quantity, capture_method=capture,
                                          secret=WEBHOOK_SECRET)
    assert webhook.post(client, delivery.body).status_code == 200
    return delivery.session_id


def checkout_purchase(client, webhook, product) -> Checkout:
    checkout = checkout_start(lines=[CheckoutRequestLine(product.pk, 1)],
                              buyer=Buyer(ref="buyer-report", address="buyer-report"),
                              email="buyer@example.com")
    intent = get_gateway().payment_intent_confirm(checkout.payment_intent_id, payment_method="pm_card_visa",
                                                  idempotency_key=f"confirm:{checkout.pk}")
    assert webhook.post(client, payment_intent_event(intent=intent, secret=WEBHOOK_SECRET).body).status_code == 200
    checkout.refresh_from_db()
    return checkout


def place(source: str, when: datetime) -> None:
    assert StockMovement.objects.filter(source=source).update(created_at=when)


@pytest.fixture
def known_day(client, webhook, hall_a):
    """Hall A's 14 March: 5 tees (25.00) and 1 mug (18.00) at 08:00;
    09:15 two tees through a Payment Link (captured), 10:40 the mug (paid at once),
    10:45 a second mug buyer's authorisation cancelled (sold out), 11:30 a third mug buyer refunded,
    14:05 a tee through our checkout; the next morning one more tee."""
    tee, mug = sellable(hall_a, 5, "Logo tee", 2500), sellable(hall_a, 1, "Enamel mug", 1800)
    for p in (tee, mug):
        place(f"test-initial:{p.pk}", at(8))
    tees = link_purchase(client, webhook, tee, 2, "manual")
    mug_sold = link_purchase(client, webhook, mug, 1, "automatic")
    mug_cancelled = link_purchase(client, webhook, mug, 1, "manual")
    mug_refunded = link_purchase(client, webhook, mug, 1, "automatic")
    checkout = checkout_purchase(client, webhook, tee)
    place(tees, at(9, 15))
    place(mug_sold, at(10, 40))
    place(f"checkout:{checkout.pk}", at(14, 5))
    for session, when in ((mug_cancelled, at(10, 45)), (mug_refunded, at(11, 30))):
        StripeJob.objects.filter(order__checkout_session_id=session, action="give_back").update(done_at=when)
    next_morning = link_purchase(client, webhook, tee, 1, "manual")
    place(next_morning, at(9, 0, DAY + timedelta(days=1)))
    # what payments recorded, as the report will read it
    assert Order.objects.get(checkout_session_id=tees).status == Order.Status.FULFILLED
    assert Order.objects.get(checkout_session_id=mug_cancelled).status == Order.Status.CANCELLED
    assert Order.objects.get(checkout_session_id=mug_refunded).status == Order.Status.REFUNDED
    assert checkout.status == Checkout.Status.PAID
    return {"store": hall_a, "tee": tee, "mug": mug, "cancelled": mug_cancelled, "refunded": mug_refunded}


def test_the_report_matches_the_day(known_day):
    report = day_report(store=known_day["store"], day=DAY)

    rows = {r.product.name: r for r in report.products}
    tee, mug = rows["Logo tee"], rows["Enamel mug"]
    assert (tee.net_sold, tee.revenue, tee.stock_left, str(tee.sell_through)) == (3, 7500, 2, "60.0")
    assert (mug.net_sold, mug.revenue, mug.stock_left, str(mug.sell_through)) == (1, 1800, 0, "100.0")
    assert tee.hourly[9] == 2 and tee.hourly[14] == 1 and sum(tee.hourly) == 3
    assert mug.hourly[10] == 1 and sum(mug.hourly) == 1
    assert (report.units_sold, report.revenue, report.stock_left, str(report.sell_through)) == (4, 9300, 2, "66.7")
    assert [(g.reference, g.amount, g.fee_avoided) for g in report.cancellations] == [
        (known_day["cancelled"], 1800, 82)]  # 2.9 % of 18.00 = 0.522 → 0.52, + 0.30
    assert [(g.reference, g.amount, g.fee_avoided) for g in report.refunds] == [(known_day["refunded"], 1800, 0)]
    # the next morning is the next day's
    next_day = day_report(store=known_day["store"], day=DAY + timedelta(days=1))
    assert {r.product.name: (r.net_sold, r.stock_left) for r in next_day.products} == {
        "Logo tee": (1, 1), "Enamel mug": (0, 0)}


def test_the_fee_formula_follows_the_settings(settings):
    assert stripe_fee(1800) == 82 and stripe_fee(2500) == 103 and stripe_fee(0) == 30
    settings.STRIPE_FEE_PERCENT, settings.STRIPE_FEE_FIXED = "1.5", 25
    assert stripe_fee(1000) == 40


def test_staff_read_the_report_with_its_chart_and_download_it(known_day, staff_client):
    store = known_day["store"]

    page = staff_client.get(reverse("backoffice:day_report", args=[store.pk, DAY.isoformat()]))

    assert page.status_code == 200
    html = page.content.decode()
    figures = dict((key, value) for key, _, value in page.context["summary"])
    assert figures == {"units_sold": "4", "revenue": "$93.00", "refunds": "1 ($18.00)",
                       "cancellations": "1 ($18.00)", "fees_avoided": "$0.82", "stock_left": "2",
                       "sell_through": "66.7 %", "collected": "0", "waiting": "0"}
    assert html.count("<polyline") == 2 and 'data-series="Logo tee"' in html and "<title id=" in html
    assert "08:00" in html and "card fee (2.9 % + $0.30)" in html
    assert "cs_test" not in html  # money given back is named by what was bought, not by a session id
    assert "<script" not in html.split('id="content-main"')[1]  # the chart needs no script
    assert 'media print' not in html and "backoffice.css" in html  # print rules live in the stylesheet

    download = staff_client.get(reverse("backoffice:day_report_csv", args=[store.pk, DAY.isoformat()]))

    assert download["Content-Type"] == "text/csv; charset=utf-8"
    rows = list(csv.reader(io.StringIO(download.content.decode())))
    header, tee_row = rows[0], next(r for r in rows if len(r) > 2 and r[3] == "Logo tee")
    assert header[:9] == ["store", "day", "product", "name", "units_sold", "units_returned", "revenue_USD",
                          "stock_left", "sell_through_percent"]
    assert tee_row[4:9] == ["3", "0", "75.00", "2", "60.0"] and tee_row[9 + 9] == "2" and tee_row[9 + 14] == "1"
    assert all(len(r) == len(header) for r in rows)  # one table per file
    totals_file = staff_client.get(reverse("backoffice:day_totals_csv", args=[store.pk, DAY.isoformat()]))
    totals_rows = list(csv.reader(io.StringIO(totals_file.content.decode())))
    assert totals_rows[0] == ["figure", "value"] and all(len(r) == 2 for r in totals_rows)
    totals = dict(totals_rows[1:])
    assert (totals["units_sold"], totals["revenue_USD"], totals["stripe_fees_avoided_USD"]) == ("4", "93.00", "0.82")
    assert (totals["refunds"], totals["cancelled_authorisations"]) == ("1", "1")


@pytest.mark.django_db
def test_the_day_report_csv_quotes_every_name_and_neutralises_formulas(hall_a):
    # Names a spreadsheet would run: after a tab or a carriage return it still sees the formula.
    for n, name in enumerate(["\t=HYPERLINK(\"https://evil.example\")", "\r@SUM(1+1)", "-2+3", "Plain tee"]):
        factories.product_create(store=hall_a, name=name, inventory=1, stripe_product_id=f"prod_R{n}")

    text = day_report_as_csv(day_report(store=hall_a, day=DAY))

    names = [row[3] for row in csv.reader(io.StringIO(text)) if len(row) > 3][1:]
    assert sorted(names) == sorted(["'\t=HYPERLINK(\"https://evil.example\")", "'\r@SUM(1+1)", "'-2+3", "Plain tee"])
    assert '"Plain tee"' in text and f'"{hall_a.pk}"' in text  # every text cell quoted


@pytest.mark.parametrize("day", ["yesterday", "2026-02-30", "0001-01-01", "9999-12-31", "20250-01-01"])
@pytest.mark.parametrize("name", ["backoffice:day_report", "backoffice:day_report_csv", "backoffice:day_totals_csv"])
def test_a_bad_or_out_of_range_day_is_a_400_page_saying_why(known_day, staff_client, name, day):
    response = staff_client.get(reverse(name, args=[known_day["store"].pk, day]))

    assert response.status_code == 400
    assert "is not a day this report covers" in response.content.decode()


def test_the_report_counts_other_stock_changes_and_hand_overs(known_day, staff_client):
    from inventory.operations import CountLine, stocktake_record

    store = known_day["store"]
    tee = next(p for p in store.products.all() if p.name == "Logo tee")
    stocktake_record(store=store, lines=[CountLine(product_id=tee.pk, counted=tee.inventory - 1, shown=tee.inventory,
                                                   reason="damaged")], key="test-count")
    today = timezone.localdate()

    report = day_report(store=store, day=today)

    assert ("Damaged", -1) in report.other_changes
    page = staff_client.get(reverse("backoffice:day_report", args=[store.pk, today.isoformat()])).content.decode()
    assert "Other stock changes" in page and "Damaged" in page
