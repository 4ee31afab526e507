"""At the booth: every sale in one list, and handing a sale's items over against its receipt code.

Thin adapters over payments.handover: read the code (typed, or read from the buyer's QR code by the
page's camera scanner), call one selector or service, render. An unknown code is a 404 page, a code
that cannot be one a 400, a sale that may not be handed over (already collected, money given back,
not paid) a 409 in red; in each case nothing changed.
"""

from django import forms
from django.core.exceptions import PermissionDenied
from django.shortcuts import render
from django.views.decorators.http import require_GET, require_http_methods

from payments.handover.selectors import ReceiptNotFound, receipt_code_normalise, sale_get, sale_list
from payments.handover.services import HandOverRefused, hand_over_refusal_text, sale_hand_over

from .access import page_context, staff_booth_or_403, staff_booths, staff_permission_required


class ReceiptCodeForm(forms.Form):
    code = forms.CharField(label="Receipt code", max_length=200, strip=True,
                           widget=forms.TextInput(attrs={"autocomplete": "off", "autocapitalize": "characters",
                                                         "spellcheck": "false", "placeholder": "K7MQ-4QXP"}))

    def clean_code(self) -> str:
        code = receipt_code_normalise(self.cleaned_data["code"])
        if not code:
            raise forms.ValidationError("A receipt code has 8 letters and digits, like K7MQ-4QXP.")
        return code


@require_GET
@staff_permission_required("payments.view_order")
def sales_page(request):
    stores = staff_booths(request)
    store_id = request.GET.get("store", "")
    store = staff_booth_or_403(request, store_id) if store_id else None
    sales = sale_list(store_id=store_id, store_ids=[s.pk for s in stores])
    return render(request, "backoffice/sales.html", page_context(
        request, "Sales", stores=stores, store=store, sales=sales,
        waiting=sum(1 for sale in sales if sale.collectable),
        collected=sum(1 for sale in sales if sale.collected_at)))


@require_http_methods(["GET", "POST"])
@staff_permission_required("payments.hand_over_sale")
def hand_over_page(request):
    """GET: the scanner and the code box; GET ?code=…: the sale to hand over; POST code: hand it over."""
    data = request.POST if request.method == "POST" else request.GET
    if "code" not in data:
        return _render(request, ReceiptCodeForm())
    form = ReceiptCodeForm(data)
    if not form.is_valid():
        return _render(request, form, status=400)
    code = form.cleaned_data["code"]
    try:
        sale = _sale_of_my_booths(request, code)
        if request.method == "POST":
            return _render(request, ReceiptCodeForm(), sale=sale_hand_over(code=code, user=request.user),
                           handed_over=True)
    except ReceiptNotFound as missing:
        return _render(request, form, error=str(missing), status=404)
    except HandOverRefused as refused:
        return _render(request, ReceiptCodeForm(), sale=refused.sale, error=str(refused), status=409)
    refusal = "" if sale.collectable else hand_over_refusal_text(sale)
    return _render(request, ReceiptCodeForm(), sale=sale, error=refusal)


def _sale_of_my_booths(request, code: str):
    """The sale, if it was made at one of this staff member's booths (403 otherwise: nothing changes)."""
    sale = sale_get(code=code)
    if sale.store_id not in {store.pk for store in staff_booths(request)}:
        raise PermissionDenied(f"This sale was made at {sale.store_name}, which you are not on the staff of.")
    return sale


def _render(request, form, *, sale=None, error: str = "", handed_over: bool = False, status: int = 200):
    return render(request, "backoffice/hand_over.html", page_context(
        request, "Hand over", form=form, sale=sale, error=error, handed_over=handed_over), status=status)
