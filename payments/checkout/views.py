"""Our checkout's pages: start one from a form, pay on its page, watch its status live.

The page (GET /checkout/<id>/) renders what is held and until when; static/js/checkout.js keeps
the status live over ws/checkout/<id>/ and counts down the hold. With Stripe live it mounts Stripe
Elements; offline it offers test cards whose confirmation sends the store Stripe's signed event.
"""

from django import forms
from django.conf import settings
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from common.buyers import request_buyer
from common.lookups import NotFound, or_404
from common.money import money
from inventory import selectors as inventory_selectors
from inventory.exceptions import InsufficientStock, InvalidStockChange
from inventory.waitlist import WaitlistBusy, WaitlistRefused, waitlist_join

from ..gateway import GatewayError, gateway_is_offline
from ..handover.receipts import receipt_context
from ..handover.sales import CHECKOUT_COLLECTABLE, ORDER_COLLECTABLE, sale_of
from ..models import Checkout, Order
from ..offline.forms import OfflineCardForm
from .api_schemas import MAX_QUANTITY, gateway_error_text, short_of_stock_text, waitlist_joined_text
from .session_params import held_checkout_leave_url
from .limits import TooManyOpenCheckouts
from .routing import checkout_feed_path
from .services import CheckoutRefused, CheckoutRequestLine, checkout_start

# What the buyer is told for each status (checkout.js gets the same words through json_script).
STATUS_MESSAGES = {
    Checkout.Status.RESERVED: "Your items are held for you. Pay before the hold runs out.",
    Checkout.Status.AUTHORISED: "Card authorised and your items are yours: taking the payment now…",
    Checkout.Status.PAID: "Paid. Thank you! Collect your items at the booth.",
    Checkout.Status.CANCELLED: "Cancelled: the stock went before your payment arrived. Nothing was charged.",
    Checkout.Status.REFUNDED: "Refunded: the stock went before your payment arrived. Your money is on its way back.",
    Checkout.Status.FAILED: "Payment failed: your card was not charged and the items were released.",
    Checkout.Status.EXPIRED: "The hold ran out before payment, so the items went back on sale.",
    Checkout.Status.LEFT: "You left the payment page: nothing was charged, and the items went back on sale.",
}


class CheckoutStartForm(forms.Form):
    store = forms.RegexField(regex=r"^store_[A-Za-z0-9]+$", max_length=64)
    product = forms.RegexField(regex=r"^[A-Za-z0-9_-]+$", max_length=64)
    # The variant (size, colour) by its Stripe price; blank for a product without variants.
    price = forms.RegexField(regex=r"^[A-Za-z0-9_-]+$", max_length=64, required=False)
    quantity = forms.IntegerField(min_value=1, max_value=MAX_QUANTITY, initial=1)
    email = forms.EmailField(required=False, max_length=254)


class WaitlistForm(forms.Form):
    store = forms.RegexField(regex=r"^store_[A-Za-z0-9]+$", max_length=64, widget=forms.HiddenInput)
    product = forms.RegexField(regex=r"^[A-Za-z0-9_-]+$", max_length=64, widget=forms.HiddenInput)
    price = forms.RegexField(regex=r"^[A-Za-z0-9_-]+$", max_length=64, required=False, widget=forms.HiddenInput)
    email = forms.EmailField(max_length=254, label="Your e-mail")


# --- The checkout page ----------------------------------------------------------------------------

@require_GET
def checkout_page(request, checkout_id):
    return checkout_page_render(request, checkout_or_404(checkout_id))


def checkout_or_404(checkout_id) -> Checkout:
    checkout = (Checkout.objects.select_related("store").prefetch_related("lines__product")
                .filter(pk=checkout_id).first())
    if checkout is None:
        raise Http404("No such checkout.")
    return checkout


def checkout_page_render(request, checkout: Checkout, *, card_form=None, error: str = "", status: int = 200):
    offline = gateway_is_offline()
    lines = [{"name": line.product.display_name, "quantity": line.quantity, "unit": money(line.unit_amount, checkout.currency),
              "total": money(line.unit_amount * line.quantity, checkout.currency),
              "url": line.product.page_url}
             for line in checkout.lines.all()]
    context = {
        "checkout": checkout,
        "lines": lines,
        "total": money(checkout.amount, checkout.currency),
        "open": checkout.status == Checkout.Status.RESERVED,
        "status_message": STATUS_MESSAGES.get(checkout.status, checkout.get_status_display()),
        "status_messages": {str(k): v for k, v in STATUS_MESSAGES.items()},
        "offline": offline,
        "card_form": card_form or OfflineCardForm(),
        "stripe_publishable_key": "" if offline else settings.STRIPE_PUBLISHABLE_KEY,
        "feed_path": checkout_feed_path(checkout.pk),
        "returned_from_stripe": request.GET.get("from") == "stripe",
        # Only the buyer who started it is offered a way to leave it (the signed link Stripe also has).
        "leave_url": (held_checkout_leave_url(checkout.pk) if checkout.checkout_session_id and checkout.buyer_ref
                      and request_buyer(request).ref == checkout.buyer_ref else ""),
        "error": error,
    }
    if checkout.status in CHECKOUT_COLLECTABLE:
        context.update(receipt_context(sale_of(checkout)))
    return render(request, "payments/checkout.html", context, status=status)


# --- After paying through a Payment Link --------------------------------------------------------

@require_GET
def thanks(request, store_id: str):
    """Where a store's Payment Links send the buyer after paying (`after_completion`, with Stripe's
    {CHECKOUT_SESSION_ID}): thanks, and what the store made of the purchase once it has decided."""
    store = or_404(inventory_selectors.store_get, store_id=store_id)
    session_id = request.GET.get("session_id", "")[:255]
    order = (Order.objects.select_related("store", "collected_by").prefetch_related("lines__product")
             .filter(checkout_session_id=session_id, store=store).first()) if session_id else None
    context = {"store": store, "order": order, "session_id": session_id}
    if order is not None and order.status in ORDER_COLLECTABLE:
        context.update(receipt_context(sale_of(order)))
    return render(request, "payments/thanks.html", context)


# --- Starting a checkout from a product page, and the waitlist when it cannot start ----------------

@require_POST
def checkout_start_form(request):
    """POST store, product, quantity (1–1000), email (optional): hold the units, go to the checkout."""
    form = CheckoutStartForm(request.POST)
    if not form.is_valid():
        return render(request, "payments/checkout_start.html", {"form": form}, status=400)
    data = form.cleaned_data
    product = _product_or_404(data["store"], data["product"], data["price"])
    try:
        checkout = checkout_start(lines=[CheckoutRequestLine(product.pk, data["quantity"])], email=data["email"],
                                  buyer=request_buyer(request))
    except InsufficientStock as short:
        return _unavailable(request, product, short.shortfalls[0].available, data)
    except TooManyOpenCheckouts as busy:
        return render(request, "payments/checkout_start.html", {"error": str(busy), "product": product}, status=429)
    except (CheckoutRefused, InvalidStockChange) as refused:
        return render(request, "payments/checkout_start.html", {"error": str(refused), "product": product},
                      status=400)
    except GatewayError as exc:
        return render(request, "payments/checkout_start.html", {"product": product, "error": gateway_error_text(exc)},
                      status=503)
    return redirect("payments:checkout_page", checkout_id=checkout.pk)


@require_POST
def waitlist_form(request):
    form = WaitlistForm(request.POST)
    if not form.is_valid():
        known = form.cleaned_data
        product = (_product_or_none(known["store"], known["product"], known.get("price", ""))
                   if {"store", "product"} <= set(known) else None)
        return render(request, "payments/checkout_start.html", {"product": product, "waitlist_form": form},
                      status=400)
    product = _product_or_404(form.cleaned_data["store"], form.cleaned_data["product"], form.cleaned_data["price"])
    try:
        entry = waitlist_join(product=product, email=form.cleaned_data["email"],
                              buyer=request_buyer(request))
    except WaitlistRefused as refused:
        return render(request, "payments/checkout_start.html", {"error": str(refused), "product": product},
                      status=409)
    except WaitlistBusy as busy:
        return render(request, "payments/checkout_start.html", {"error": str(busy), "product": product},
                      status=429)
    return render(request, "payments/checkout_waitlist.html",
                  {"product": product, "detail": waitlist_joined_text(product, entry.email)})


def _unavailable(request, product, available: int, data: dict):
    alternatives = inventory_selectors.product_alternatives(stripe_product_id=product.stripe_product_id,
                                                            exclude_store_id=product.store_id, size=product.size,
                                                            colour=product.colour)
    context = {
        "product": product,
        "error": short_of_stock_text(name=product.display_name, store_name=product.store.name, available=available)
                 + f" (you asked for {data['quantity']}). Nothing was reserved.",
        "available": available,
        "alternatives": alternatives,
        # The waitlist is for sold-out products only (inventory/waitlist.py).
        "waitlist_form": WaitlistForm(initial={"store": product.store_id, "product": product.stripe_product_id,
                                               "price": product.stripe_price_id,
                                               "email": data.get("email") or ""}) if available <= 0 else None,
    }
    return render(request, "payments/checkout_start.html", context, status=409)


def _product_or_none(store_id: str, stripe_product_id: str, price_id: str):
    try:
        return inventory_selectors.product_get(store_id=store_id, stripe_product_id=stripe_product_id,
                                               price_id=price_id)
    except NotFound:
        return None


def _product_or_404(store_id: str, stripe_product_id: str, price_id: str):
    return or_404(inventory_selectors.product_get, store_id=store_id, stripe_product_id=stripe_product_id,
                  price_id=price_id)
