"""The booth screen (public, full screen, one per store) and the staff sales dashboard.

Both render server-side and are kept live by the stock feed: live-stock.js updates stock on the
booth screen, and static/js/booth.js re-reads the sales figures (which a stock message does not
carry, and which change as time passes) from the JSON views below on each stock message.
"""

from datetime import timedelta

from django.conf import settings
from django.contrib import admin
from django.contrib.admin.views.decorators import staff_member_required
from django.http import JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.timesince import timesince
from django.utils.translation import ngettext
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from common.lookups import or_404
from common.times import local_time, store_zone
from common.work import work_problems

from . import selectors
from .routing import stock_feed_path

BOOTH_WINDOW_MINUTES = 15


# --- Booth screen ----------------------------------------------------------------------------------

@require_GET
def booth_screen(request, store_id: str):
    store = or_404(selectors.store_get, store_id=store_id)
    board = selectors.booth_board(store=store, window_minutes=BOOTH_WINDOW_MINUTES)
    return render(request, "inventory/booth.html", {"store": store, "board": board, "window_minutes": BOOTH_WINDOW_MINUTES,
                                                   "feed_path": stock_feed_path(store.pk)})


@require_GET
@never_cache
def booth_sales_json(request, store_id: str):
    """Units sold per variant (one booth tile each) in the booth's window, with the stock they were read with."""
    store = or_404(selectors.store_get, store_id=store_id)
    board = selectors.booth_board(store=store, window_minutes=BOOTH_WINDOW_MINUTES)
    return JsonResponse({
        "store": store.pk,
        "window_minutes": BOOTH_WINDOW_MINUTES,
        "variants": {str(row["product"].pk): {"product": row["product"].stripe_product_id,
                                              "price": row["product"].stripe_price_id,
                                              "variant_label": row["product"].variant_label,
                                              "sold_recently": row["sold_recently"],
                                              "available": row["product"].available,
                                              "sold_out": row["product"].sold_out}
                     for row in board},
    })


# --- Staff dashboard -------------------------------------------------------------------------------

def _dashboard_row(row: dict) -> dict:
    p = row["product"]
    return {
        "id": p.pk,
        "store": p.store_id,
        "store_name": p.store.name,
        "product": p.stripe_product_id,
        "price": p.stripe_price_id,
        "variant_label": p.variant_label,
        "name": p.display_name,
        "inventory": p.inventory,
        "available": p.available,
        "low_stock_threshold": p.low_stock_threshold,
        "low_stock": p.low_stock,
        "sold_out": p.sold_out,
        "state": p.stock_state,
        "state_text": p.stock_state_text,
        "sold_today": row["sold_today"],
        "sold_last_hour": row["sold_last_hour"],
        "admin_url": reverse("admin:inventory_product_change", args=[p.pk]),
    }


def dashboard_zone(stores) -> str:
    """The zone the dashboard's times are in: the booths' own when they share one (as at one event),
    else the site's (TIME_ZONE), which the page then names."""
    zones = {store.time_zone for store in stores}
    return zones.pop() if len(zones) == 1 else settings.TIME_ZONE


def _dashboard_in_zone(zone: str) -> dict:
    # "Today" starts at midnight where the booths are, not at the server's midnight.
    with timezone.override(store_zone(zone)):
        return selectors.sales_dashboard()


@staff_member_required
@require_GET
def staff_dashboard(request):
    stores = list(selectors.store_list())
    zone = dashboard_zone(stores)
    data = _dashboard_in_zone(zone)
    context = {
        **admin.site.each_context(request),
        "title": "Sales dashboard",
        "rows": [_dashboard_row(row) for row in data["rows"]],
        "low_stock": data["low_stock"],
        "generated_at": data["generated_at"],
        "today_start": data["today_start"],
        "stores": stores,
        "feeds": [stock_feed_path(store.pk) for store in stores],
        "work_problems": work_problem_banner(),
        "dashboard_zone": zone,
    }
    return render(request, "inventory/dashboard.html", context)


def work_problem_banner() -> list[dict]:
    """Failed and stuck work of every kind (common/work.py): what it is, how much, since when, where to act."""
    stuck_after = timedelta(seconds=settings.WORK_STUCK_SECONDS)
    banner = []
    for problem in work_problems(stuck_after=stuck_after):
        parts = [ngettext("%(n)d failed", "%(n)d failed", problem.failed) % {"n": problem.failed}] if problem.failed else []
        if problem.stuck:
            parts.append(ngettext("%(n)d waiting over %(age)s", "%(n)d waiting over %(age)s", problem.stuck)
                         % {"n": problem.stuck, "age": timesince(timezone.now() - stuck_after)})
        opts = problem.kind.model._meta
        url = reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist") + ("?failed=yes" if problem.failed else "")
        banner.append({"label": problem.kind.label, "text": ", ".join(parts), "url": url,
                       "oldest": problem.oldest, "oldest_age": timesince(problem.oldest)})
    return banner


@staff_member_required
@require_GET
@never_cache
def staff_dashboard_json(request):
    zone = dashboard_zone(selectors.store_list())
    data = _dashboard_in_zone(zone)
    return JsonResponse({
        "generated_at": data["generated_at"].isoformat(),
        # As the page writes it (the booths' zone, the locale's clock): the browser's own zone may differ.
        "generated_at_text": local_time(data["generated_at"], zone),
        "today_start": data["today_start"].isoformat(),
        "products": [_dashboard_row(row) for row in data["rows"]],
        "low_stock": [p.pk for p in data["low_stock"]],
    })
