"""The offline pay page: where a demo Payment Link's QR code leads when Stripe is offline."""

from django import forms
from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from inventory import selectors as inventory_selectors

from .endpoints import webhook_endpoint_local
from .gateway import OfflineGateway, get_gateway
from .simulator import checkout_session_completed, delivery_post


class OfflinePayForm(forms.Form):
    quantity = forms.IntegerField(min_value=1, max_value=20, initial=1)


@require_http_methods(["GET", "POST"])
def offline_pay(request, payment_link_id: str):
    product = inventory_selectors.product_for_payment_link(payment_link_id=payment_link_id)
    if product is None or not isinstance(get_gateway(), OfflineGateway):
        raise Http404("No offline Payment Link here (this page exists only while Stripe is offline).")
    form = OfflinePayForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        return _pay(request, product, form.cleaned_data["quantity"])
    status = 400 if request.method == "POST" else 200
    return render(request, "payments/offline_pay.html", {"product": product, "form": form}, status=status)


def _pay(request, product, quantity: int):
    endpoint = webhook_endpoint_local()
    if endpoint is None:
        raise Http404("No webhook endpoint configured: run `manage.py stripe_endpoint`.")
    delivery = checkout_session_completed(product=product, quantity=quantity, capture_method="manual",
                                          secret=endpoint.secret)
    url = request.build_absolute_uri(reverse("djstripe:djstripe_webhook_by_uuid",
                                             kwargs={"uuid": endpoint.djstripe_uuid}))
    status, _ = delivery_post(delivery, url=url)
    level = messages.SUCCESS if status == 200 else messages.ERROR
    messages.add_message(request, level, f"Simulated payment {delivery.session_id}: webhook answered {status}.")
    return redirect("inventory:product_page", store_id=product.store_id, product_id=product.stripe_product_id)
