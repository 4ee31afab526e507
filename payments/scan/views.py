"""Where a printed QR code leads: /q/<code>/, our own URL, valid whatever happens to links and sessions.

Held mode: the buyer picks a quantity; on submit we hold the units and answer 303 to Stripe's
payment page (a Checkout Session for exactly those units). Sold out, or everything left held: no
session, and the page offers the other booths and the waitlist. Payment Link mode: on to the link
while it takes payments, else the same sold-out page.
"""

from django import forms
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods

from inventory import selectors as inventory_selectors
from inventory.exceptions import InsufficientStock
from inventory.routing import stock_feed_path
from common.buyers import request_buyer

from ..checkout.api_schemas import gateway_error_text, short_of_stock_text
from ..checkout.held import NotOnSale, held_checkout_start
from ..checkout.session_params import held_checkout_leave_token_valid
from ..checkout.challenge import challenge_new, challenge_spend
from ..checkout.limits import ChallengeRequired, TooManyOpenCheckouts
from ..checkout.services import CheckoutRefused
from ..checkout.views import WaitlistForm, checkout_or_404
from ..fulfilment.held import held_checkout_leave_record
from ..settlement.runner import stripe_job_run_now
from ..gateway import GatewayError
from .remembered import scan_alternatives, scan_product


class ScanForm(forms.Form):
    quantity = forms.TypedChoiceField(coerce=int, label="How many?")

    def __init__(self, *args, most: int, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["quantity"].choices = [(n, str(n)) for n in range(1, most + 1)]
        self.fields["quantity"].error_messages["invalid_choice"] = f"Choose between 1 and {most}."


@require_http_methods(["GET", "POST"])
def scan(request, code: str):
    product = scan_product(code=code)  # from memory in a rush (remembered.py)
    if product is None:
        retired = inventory_selectors.scan_code_retired(code=code)
        return render(request, "payments/scan_unknown.html", {"retired": retired}, status=410 if retired else 404)
    posted = request.method == "POST"
    if not product.sells_held:
        if product.payable:
            return HttpResponseRedirect(product.payment_link_url, status=303 if posted else 302)
        return _scan_page(request, product, status=409 if posted else 200)
    if not posted:
        request_buyer(request)  # the buyer's cookie, before they press the button
        # Offer no more than is left; the service still decides, since stock moves meanwhile.
        return _scan_page(request, product, form=ScanForm(most=max(1, min(product.max_per_checkout,
                                                                            product.available))))
    form = ScanForm(request.POST, most=product.max_per_checkout)
    if not form.is_valid():
        return _scan_page(request, product, form=form, status=400)
    return _hold_and_go(request, product, form.cleaned_data["quantity"], form)


def _hold_and_go(request, product, quantity: int, form):
    # A solved proof of work (the ALTCHA widget's field) lets this start past the address's free rate.
    solved = bool(payload := request.POST.get("altcha", "")) and challenge_spend(payload=payload)
    try:
        checkout = held_checkout_start(product=product, quantity=quantity, buyer=request_buyer(request),
                                       challenge_solved=solved)
    except InsufficientStock as short:
        available = short.shortfalls[0].available
        error = short_of_stock_text(name=product.display_name, store_name=product.store.name, available=available)
        return _scan_page(request, product, form=form, status=409, sold_out=available <= 0,
                          error=f"{error} Nothing was held and nothing was charged.")
    except ChallengeRequired:
        return _scan_page(request, product, form=form, status=429, challenge=challenge_new(),
                          error="Many checkouts are being started from your network: press the button again and "
                                "your phone first solves a small puzzle, to show it is not a script.")
    except TooManyOpenCheckouts as busy:
        return _scan_page(request, product, form=form, status=429, error=str(busy))
    except NotOnSale as off:
        return _scan_page(request, product, form=form, status=409, error=str(off))
    except CheckoutRefused as refused:
        return _scan_page(request, product, form=form, status=400, error=str(refused))
    except GatewayError as exc:
        return _scan_page(request, product, form=form, status=503, error=gateway_error_text(exc))
    return HttpResponseRedirect(checkout.session_url, status=303)


def _scan_page(request, product, *, form=None, status: int = 200, error: str = "", sold_out: bool | None = None,
               challenge: str = ""):
    sold_out = product.sold_out if sold_out is None else sold_out
    context = {
        "product": product,
        "store": product.store,
        "feed_path": stock_feed_path(product.store_id, product.stripe_product_id),
        "form": form,
        "error": error,
        "challenge": challenge,
        "sold_out": sold_out,
        "alternatives": scan_alternatives(product=product) if sold_out else [],
        # Always there, shown while sold out: when the last unit goes while the buyer looks, the page
        # turns to the waitlist live instead of leaving a dead end.
        "waitlist_form": WaitlistForm(initial={"store": product.store_id, "product": product.stripe_product_id,
                                               "price": product.stripe_price_id}),
    }
    return render(request, "payments/scan.html", context, status=status)


@require_GET
def leave(request, checkout_id):
    """Stripe's cancel URL (signed): expire the session first, then release the units (at once if
    Stripe answers). The expiry job runs once: here if we claim it first, else in the worker."""
    checkout = checkout_or_404(checkout_id)
    if not checkout.checkout_session_id:
        raise Http404("Only a held checkout can be left this way.")
    if not held_checkout_leave_token_valid(checkout_id=checkout.pk, token=request.GET.get("token", "")):
        raise PermissionDenied("Only the buyer who started this checkout can leave it (use the link Stripe's "
                               "page or the checkout page gave you).")
    if key := held_checkout_leave_record(checkout_id=checkout.pk):
        stripe_job_run_now(key=key)
    return redirect("payments:checkout_page", checkout_id=checkout.pk)
