"""Stock CSV in the back office: a page to import a file (checked whole first) and exports.

The format and its rules are in inventory/stock_csv.py and the README ("CSV format")."""

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from inventory.stock_csv import MAX_BYTES, CsvImportRefused, stock_csv_export, stock_csv_import

from .access import page_context, staff_booths, staff_permission_required


@staff_permission_required("inventory.import_stock")
@require_http_methods(["GET", "POST"])
def stock_csv_page(request):
    errors, status = [], 200
    if request.method == "POST":
        upload = request.FILES.get("file")
        if upload is None:
            errors = ["Choose a CSV file to import."]
        elif upload.size > MAX_BYTES:
            errors = [f"The file is {upload.size:,} bytes; at most {MAX_BYTES:,} are accepted."]
        else:
            try:
                result = stock_csv_import(content=upload.read(), filename=upload.name, actor=request.user,
                                          dry_run=bool(request.POST.get("dry_run")),
                                          store_ids={s.pk for s in staff_booths(request)})
            except CsvImportRefused as refused:
                errors = refused.errors
            else:
                level = messages.INFO if result.dry_run or result.already_imported else messages.SUCCESS
                prefix = "Checked, not imported (dry run): " if result.dry_run else ""
                messages.add_message(request, level, f"{upload.name}: {prefix}{result.summary()}")
                return redirect("backoffice:stock_csv")
        status = 400
        messages.error(request, f"{upload.name if upload else 'No file'}: not imported, nothing changed.")
    return render(request, "backoffice/stock_csv.html", page_context(
        request, "Stock as CSV", stores=staff_booths(request), errors=errors, max_bytes=MAX_BYTES), status=status)


@staff_permission_required("inventory.import_stock")
@require_http_methods(["GET"])
def stock_csv_download(request):
    store_ids = request.GET.getlist("store")
    mine = [s.pk for s in staff_booths(request)]
    if unknown := [s for s in store_ids if s not in mine]:
        return HttpResponse(f"No booth of yours: {', '.join(unknown)}.", status=400,
                            content_type="text/plain; charset=utf-8")
    return csv_attachment(stock_csv_export(store_ids=store_ids or mine),
                          f"stock-{'-'.join(store_ids) or 'all'}-{timezone.localdate():%Y%m%d}.csv")


def csv_attachment(text: str, filename: str) -> HttpResponse:
    response = HttpResponse(text, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
