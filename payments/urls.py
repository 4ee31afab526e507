from django.urls import path

from .checkout import views as checkout_views
from .checkout.api import api
from .offline import views as offline_views
from .scan import views as scan_views

app_name = "payments"

urlpatterns = [
    # Our own checkout: the JSON API (schema at api/openapi.json, docs at api/docs) and its pages.
    path("api/", api.urls),
    path("checkout/start/", checkout_views.checkout_start_form, name="checkout_start"),
    path("checkout/waitlist/", checkout_views.waitlist_form, name="checkout_waitlist"),
    path("checkout/<uuid:checkout_id>/", checkout_views.checkout_page, name="checkout_page"),
    # Where the store's Payment Links send buyers after paying (payments/catalogue/imports.py).
    path("s/<str:store_id>/thanks/", checkout_views.thanks, name="thanks"),
    # A QR buyer in held mode: the printed code's URL, and Stripe's cancel URL for their session.
    path("q/<slug:code>/", scan_views.scan, name="scan"),
    path("checkout/<uuid:checkout_id>/leave/", scan_views.leave, name="held_checkout_leave"),
    # Offline only (no Stripe key): the demo's pay page and test cards; 404 otherwise.
    path("offline/pay/<str:payment_link_id>/", offline_views.offline_pay, name="offline_pay"),
    path("offline/checkout/<str:session_id>/", offline_views.offline_hosted_checkout, name="offline_hosted_checkout"),
    path("checkout/<uuid:checkout_id>/offline-confirm/", offline_views.offline_checkout_confirm,
         name="checkout_offline_confirm"),
]
