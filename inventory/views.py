"""Server-rendered pages: stock as of render time, kept live by static/js/live-stock.js."""

from django.conf import settings
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_safe

from common.lookups import or_404

from . import selectors
from .qr import qr_svg, qr_svg_document
from .routing import stock_feed_path


@require_safe
def store_index(request):
    return render(request, "inventory/store_index.html", {"stores": selectors.store_list()})


@require_safe
def store_page(request, store_id: str):
    store = or_404(selectors.store_get, store_id=store_id)
    families = selectors.product_families_for_store(store=store)
    return render(request, "inventory/store_page.html", {"store": store, "families": families,
                                                         "feed_path": stock_feed_path(store.pk)})


@require_safe
def product_page(request, store_id: str, product_id: str):
    """One product with all its variants; ?price=<Stripe price> or ?size=…&colour=… picks the one shown
    first (else the first still on sale). Every variant is rendered, so the picker switches at once."""
    family = or_404(selectors.product_family_get, store_id=store_id, stripe_product_id=product_id)
    selected = family.variant_for(price_id=request.GET.get("price", ""), size=request.GET.get("size", ""),
                                  colour=request.GET.get("colour", ""))
    variants = [{"product": v, "selected": v.pk == selected.pk, "qr": qr_svg(v.qr_url) if v.qr_url else ""}
                for v in family.variants]
    context = {"store": family.store, "family": family, "product": selected, "variants": variants,
               "hold_minutes": settings.CHECKOUT_HOLD_MINUTES,
               "feed_path": stock_feed_path(family.store_id, family.stripe_product_id)}
    return render(request, "inventory/product_page.html", context)


@require_safe
def product_qr_svg(request, store_id: str, product_id: str):
    """The QR code of one variant (?price=…; the product's only one without it)."""
    product = or_404(selectors.product_get, store_id=store_id, stripe_product_id=product_id,
                     price_id=request.GET.get("price", ""))
    if not product.qr_url:
        raise Http404("This product has no Payment Link.")
    return HttpResponse(qr_svg_document(product.qr_url), content_type="image/svg+xml")


@require_safe
def store_qr_sheet(request, store_id: str):
    store = or_404(selectors.store_get, store_id=store_id)
    # Paper outlives stock: every card prints our own scan URL, which goes on to the Payment Link
    # while it takes payments and otherwise shows the product's sold-out page (other booths, waitlist).
    products = [(p, qr_svg(p.scan_url, scale=5)) for p in selectors.variants_for_store(store=store)]
    return render(request, "inventory/qr_sheet.html", {"store": store, "products": products,
                                                       "feed_path": stock_feed_path(store.pk)})
