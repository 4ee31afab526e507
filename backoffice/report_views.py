"""The end-of-day report: a page that prints cleanly, and the same figures as CSV."""

import io
from datetime import date, timedelta

from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET

from common.money import major_units, money
from common.spreadsheets import csv_writer
from common.times import local_time, store_zone

from .access import page_context, staff_booth_or_403, staff_booths, staff_permission_required
from .chart import Series, hour_range, sales_chart_svg
from .csv_views import csv_attachment
from .report import DayReport, day_report


# Days a booth can have had: a typo's year 2 or 20250 is answered, not crashed on (the day after
# 9999-12-31 does not exist).
FIRST_DAY, LAST_DAY = date(2000, 1, 1), date(2099, 12, 31)


def _day(text: str) -> date | None:
    try:
        day = date.fromisoformat(text)
    except (TypeError, ValueError):
        return None
    return day if FIRST_DAY <= day <= LAST_DAY else None


def _day_error(text: str) -> str:
    return (f"“{(text or '')[:40]}” is not a day this report covers: use the date picker "
            f"(YYYY-MM-DD, from {FIRST_DAY:%Y} to {LAST_DAY:%Y}).")


@staff_permission_required("inventory.view_day_report")
@require_GET
def report_index(request):
    """Pick a booth and a day; a complete choice goes to the report's own address."""
    stores = staff_booths(request)
    store_id, text = request.GET.get("store"), request.GET.get("day")
    errors = []
    if store_id or text:
        if store_id not in {s.pk for s in stores}:
            errors.append("Pick a booth from the list.")
        if _day(text) is None:
            errors.append(_day_error(text))
        if not errors:
            return redirect("backoffice:day_report", store_id=store_id, day=text)
    return render(request, "backoffice/report_pick.html", page_context(
        request, "End-of-day report", stores=stores, errors=errors, today=timezone.localdate()),
        status=400 if errors else 200)


class BadDay(Exception):
    pass


def _report(request, store_id: str, day_text: str) -> DayReport:
    """The report, or BadDay (a 400 page saying why); a booth that is not the staff member's is a 403."""
    store = staff_booth_or_403(request, store_id)
    day = _day(day_text)
    if day is None:
        raise BadDay(_day_error(day_text))
    return day_report(store=store, day=day)


def _bad_day(request, error: str):
    return render(request, "backoffice/report_pick.html", page_context(
        request, "End-of-day report", stores=staff_booths(request), errors=[error],
        today=timezone.localdate()), status=400)


@staff_permission_required("inventory.view_day_report")
@require_GET
def day_report_page(request, store_id: str, day: str):
    try:
        report = _report(request, store_id, day)
    except BadDay as bad:
        return _bad_day(request, str(bad))
    zone = store_zone(report.store.time_zone)
    now = timezone.now().astimezone(zone)
    is_today = report.day == now.date()
    m = lambda amount: money(amount, report.currency)  # noqa: E731
    return render(request, "backoffice/report.html", page_context(
        request, f"End of day: {report.store.name}, {report.day:%a %d %b %Y}", report=report,
        charts=_charts(report, until=now.hour + now.minute / 60 if is_today else 24.0),
        summary=_summary(report, m),
        rows=[{"row": row, "revenue": m(row.revenue)} for row in report.products],
        give_backs=[{"g": g, "amount": money(g.amount, g.currency), "fee": money(g.fee_avoided, g.currency),
                     "at": local_time(g.at, report.store.time_zone)} for g in report.give_backs],
        other_changes=report.other_changes,
        previous_day=(report.day - timedelta(days=1)).isoformat(), next_day=(report.day + timedelta(days=1)).isoformat(),
        is_today=is_today, tz_name=report.store.time_zone))


def _charts(report: DayReport, *, until: float) -> list[dict]:
    """One small chart per product sold, on the same hours and the same scale."""
    series = [Series(row.product.display_name, row.hourly) for row in report.products if row.sold]
    hours = hour_range(series)
    top = max([1, *(s.cumulative[-1] for s in series)])
    return [{"label": s.label, "total": s.cumulative[-1],
             "svg": sales_chart_svg(s, title=f"{s.label}: units sold over the day", chart_id=f"sales-chart-{i}",
                                    hours=hours, top=top, until=until)}
            for i, s in enumerate(series)]


def _summary(report: DayReport, m) -> list[tuple[str, str, str]]:
    """(key, label, value) for the figures at the top of the page."""
    through = "—" if report.sell_through is None else f"{report.sell_through} %"
    return [
        ("units_sold", "Units sold", str(report.units_sold)),
        ("revenue", "Revenue", m(report.revenue)),
        ("refunds", "Refunds", f"{len(report.refunds)} ({m(report.refunded_amount)})"),
        ("cancellations", "Cancelled authorisations", f"{len(report.cancellations)} ({m(report.cancelled_amount)})"),
        ("fees_avoided", "Stripe fees avoided by cancelling", m(report.fees_avoided)),
        ("stock_left", "Stock left", str(report.stock_left)),
        ("sell_through", "Sell-through", through),
        ("collected", "Handed over", str(report.collected)),
        ("waiting", "Paid, waiting to be collected", str(report.waiting)),
    ]


@staff_permission_required("inventory.view_day_report")
@require_GET
def day_report_csv(request, store_id: str, day: str):
    """The per-product table."""
    return _csv_download(request, store_id, day, day_report_as_csv, "day-report")


@staff_permission_required("inventory.view_day_report")
@require_GET
def day_totals_csv(request, store_id: str, day: str):
    """The day's totals: one table per file, so a spreadsheet opens each as it is."""
    return _csv_download(request, store_id, day, day_totals_as_csv, "day-totals")


def _csv_download(request, store_id: str, day: str, as_csv, name: str):
    try:
        report = _report(request, store_id, day)
    except BadDay as bad:
        return _bad_day(request, str(bad))
    return csv_attachment(as_csv(report), f"{name}-{report.store.pk}-{report.day:%Y%m%d}.csv")


def _amount(minor: int, currency: str) -> str:
    """Money as a plain number for spreadsheets (25.00), in the currency's main unit."""
    return str(major_units(minor, currency))


def day_report_as_csv(report: DayReport) -> str:
    """One row per product, with units sold per hour."""
    out = io.StringIO()
    w = csv_writer(out)
    cur = report.currency.upper()
    w.writerow(["store", "day", "product", "name", "units_sold", "units_returned", f"revenue_{cur}", "stock_left",
                "sell_through_percent", *(f"sold_{h:02d}h" for h in range(24))])
    for row in report.products:
        w.writerow([report.store.pk, report.day.isoformat(), row.product.stripe_product_id,
                    row.product.display_name, row.net_sold, row.returned,
                    _amount(row.revenue, report.currency), row.stock_left,
                    "" if row.sell_through is None else row.sell_through, *row.hourly])
    return out.getvalue()


def day_totals_as_csv(report: DayReport) -> str:
    """One row per figure of the day."""
    out = io.StringIO()
    w = csv_writer(out)
    cur = report.currency.upper()
    w.writerow(["figure", "value"])
    for figure, value in [
        ("units_sold", report.units_sold),
        (f"revenue_{cur}", _amount(report.revenue, report.currency)),
        ("refunds", len(report.refunds)),
        (f"refunded_{cur}", _amount(report.refunded_amount, report.currency)),
        ("cancelled_authorisations", len(report.cancellations)),
        (f"cancelled_{cur}", _amount(report.cancelled_amount, report.currency)),
        (f"stripe_fees_avoided_{cur}", _amount(report.fees_avoided, report.currency)),
        ("stock_left", report.stock_left),
        ("sell_through_percent", "" if report.sell_through is None else report.sell_through),
        ("handed_over", report.collected),
        ("waiting_to_be_collected", report.waiting),
        *((f"units_{label.lower().replace(' ', '_')}", units) for label, units in report.other_changes),
        ("fee_rule", report.fee_rule),
        ("generated_at", report.generated_at.isoformat()),
    ]:
        w.writerow([figure, value])
    return out.getvalue()
