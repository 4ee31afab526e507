"""The offline pages: where a demo Payment Link's QR code leads, and the checkout page's test
cards, while Stripe is offline. Each answers 404 as soon as a Stripe key is set, and always under
the production settings. The views handle the webhook secret, so their locals never reach a DEBUG
error page (sensitive_variables)."""

from django import forms
from django.conf import settings
from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.debug import sensitive_variables
from django.views.decorators.http import require_http_methods, require_POST

from inventory import selectors as inventory_selectors
from common.money import money

from ..checkout.views import checkout_or_404, checkout_page_render
from ..endpoints import webhook_endpoint_local, webhook_endpoint_path
from ..gateway import GatewayError, gateway_is_offline, get_gateway
from ..models import Checkout
from .forms import OfflineCardForm
from .simulator import (checkout_session_completed, checkout_session_pay_offline, delivery_post,
                        payment_intent_confirm_offline)


class OfflinePayForm(forms.Form):
    quantity = forms.IntegerField(min_value=1, max_value=20, initial=1)


@require_http_methods(["GET", "POST"])
def offline_pay(request, payment_link_id: str):
    product = inventory_selectors.product_for_payment_link(payment_link_id=payment_link_id)
    if product is None or not gateway_is_offline():
        raise Http404("No offline Payment Link here (this page exists only while Stripe is offline).")
    form = OfflinePayForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        return _pay(request, product, form.cleaned_data["quantity"])
    status = 400 if request.method == "POST" else 200
    return render(request, "payments/offline_pay.html", {"product": product, "form": form}, status=status)


@sensitive_variables()
def _pay(request, product, quantity: int):
    endpoint = webhook_endpoint_local()
    if endpoint is None:
        raise Http404("No webhook endpoint configured: run `manage.py stripe_endpoint`.")
    delivery = checkout_session_completed(product=product, quantity=quantity, capture_method="manual",
                                          secret=endpoint.secret)
    status, _ = delivery_post(delivery, url=_webhook_url(endpoint))
    level = messages.SUCCESS if status == 200 else messages.ERROR
    messages.add_message(request, level, f"Simulated payment {delivery.session_id}: webhook answered {status}.")
    return redirect("inventory:product_page", store_id=product.store_id, product_id=product.stripe_product_id)


@sensitive_variables()
@require_POST
def offline_checkout_confirm(request, checkout_id):
    """Offline only: confirm with a test card, deliver Stripe's signed event, show the outcome."""
    if not gateway_is_offline():
        raise Http404("Offline test cards exist only while Stripe is offline.")
    checkout = checkout_or_404(checkout_id)
    form = OfflineCardForm(request.POST)
    if not form.is_valid():
        return checkout_page_render(request, checkout, card_form=form, status=400)
    if checkout.status != Checkout.Status.RESERVED:
        return checkout_page_render(request, checkout, status=409,
                     error=f"This checkout can no longer be paid: {checkout.get_status_display().lower()}.")
    endpoint = webhook_endpoint_local()
    if endpoint is None:
        return checkout_page_render(request, checkout, status=503,
                     error="No webhook endpoint is configured: run `manage.py stripe_endpoint` first.")
    webhook_url = _webhook_url(endpoint)
    card = form.cleaned_data["card"]
    try:
        _, status = payment_intent_confirm_offline(
            payment_intent_id=checkout.payment_intent_id, payment_method=card, secret=endpoint.secret,
            webhook_url=webhook_url, idempotency_key=f"confirm:checkout:{checkout.pk}:{card}")
    except GatewayError as exc:
        return checkout_page_render(request, checkout, status=503, error=f"The offline payment could not be made: {exc}")
    if status != 200:
        messages.error(request, f"The store's webhook answered {status}; the status below may lag behind.")
    return redirect("payments:checkout_page", checkout_id=checkout.pk)


@sensitive_variables()
@require_http_methods(["GET", "POST"])
def offline_hosted_checkout(request, session_id: str):
    """Offline only: a clearly labelled stand-in for Stripe's hosted checkout page of a held checkout.

    Pay completes the session and sends the store Stripe's signed checkout.session.completed, then
    goes to the session's success URL; Leave goes to its cancel URL, as Stripe's back link does.
    """
    if not gateway_is_offline():
        raise Http404("The simulated payment page exists only while Stripe is offline.")
    try:
        session = get_gateway().checkout_session_retrieve(session_id)
    except GatewayError:
        raise Http404("No such payment page.") from None
    if request.method == "GET" or session["status"] != "open":
        status = 200 if request.method == "GET" else 409
        return _hosted_page(request, session, status=status)
    if request.POST.get("action") == "leave":
        return redirect(session["cancel_url"])
    endpoint = webhook_endpoint_local()
    if endpoint is None:
        return _hosted_page(request, session, status=503,
                            error="No webhook endpoint is configured: run `manage.py stripe_endpoint` first.")
    try:
        _, status = checkout_session_pay_offline(session_id=session_id, secret=endpoint.secret,
                                                 webhook_url=_webhook_url(endpoint))
    except GatewayError as exc:
        return _hosted_page(request, session, status=409, error=str(exc))
    if status != 200:
        messages.error(request, f"The store's webhook answered {status}; the status below may lag behind.")
    return redirect(session["success_url"])


def _hosted_page(request, session: dict, *, status: int, error: str = ""):
    context = {"session": session, "total": money(session["amount_total"], session["currency"]), "error": error}
    return render(request, "payments/offline_hosted_checkout.html", context, status=status)


def _webhook_url(endpoint) -> str:
    # SITE_URL, never the request's Host header: a visitor must not choose where we send events
    # signed with our secret.
    return settings.SITE_URL + webhook_endpoint_path(endpoint)
