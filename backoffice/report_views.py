"""The end-of-day report: a page that prints cleanly, and the same figures as CSV."""

import io
from datetime import date, timedelta

from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET

from common.money import major_units, money
from common.spreadsheets import csv_writer

from .access import page_context, staff_booth_or_403, staff_booths, staff_permission_required
from .chart import Series, sales_chart_svg, swatch_svg
from .csv_views import csv_attachment
from .report import DayReport, day_report


def _day(text: str) -> date | None:
    try:
        return date.fromisoformat(text)
    except (TypeError, ValueError):
        return None


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
            errors.append(f"“{text or ''}” is not a day: use the date picker (YYYY-MM-DD).")
        if not errors:
            return redirect("backoffice:day_report", store_id=store_id, day=text)
    return render(request, "backoffice/report_pick.html", page_context(
        request, "End-of-day report", stores=stores, errors=errors, today=timezone.localdate()),
        status=400 if errors else 200)


def _report_or_404(request, store_id: str, day_text: str) -> DayReport:
    day = _day(day_text)
    if day is None:
        raise Http404(f"“{day_text}” is not a day (YYYY-MM-DD).")
    return day_report(store=staff_booth_or_403(request, store_id), day=day)


@staff_permission_required("inventory.view_day_report")
@require_GET
def day_report_page(request, store_id: str, day: str):
    report = _report_or_404(request, store_id, day)
    sold = [row for row in report.products if row.sold]
    series = [Series(row.product.display_name, row.hourly) for row in sold]
    is_today = report.day == timezone.localdate()
    chart = sales_chart_svg(series, title=f"Units sold over {report.day:%A %d %B %Y} at {report.store.name}",
                            until_hour=timezone.localtime().hour + 1 if is_today else 24)
    m = lambda amount: money(amount, report.currency)  # noqa: E731
    return render(request, "backoffice/report.html", page_context(
        request, f"End of day: {report.store.name}, {report.day:%a %d %b %Y}", report=report, chart=chart,
        legend=[(swatch_svg(i), s.label, s.cumulative[-1]) for i, s in enumerate(series)],
        summary=_summary(report, m),
        rows=[{"row": row, "revenue": m(row.revenue)} for row in report.products],
        give_backs=[{"g": g, "amount": money(g.amount, g.currency), "fee": money(g.fee_avoided, g.currency)}
                    for g in report.give_backs],
        previous_day=(report.day - timedelta(days=1)).isoformat(), next_day=(report.day + timedelta(days=1)).isoformat(),
        is_today=is_today))


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
    ]


@staff_permission_required("inventory.view_day_report")
@require_GET
def day_report_csv(request, store_id: str, day: str):
    report = _report_or_404(request, store_id, day)
    return csv_attachment(day_report_as_csv(report), f"day-report-{report.store.pk}-{report.day:%Y%m%d}.csv")


def _amount(minor: int, currency: str) -> str:
    """Money as a plain number for spreadsheets (25.00), in the currency's main unit."""
    return str(major_units(minor, currency))


def day_report_as_csv(report: DayReport) -> str:
    """Two blocks: one row per product (with units sold per hour), then the day's totals."""
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
    w.writerow([])
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
        ("fee_rule", report.fee_rule),
        ("generated_at", report.generated_at.isoformat()),
    ]:
        w.writerow([figure, value])
    return out.getvalue()
