from django.urls import path

from . import views

app_name = "payments"

urlpatterns = [
    path("offline/pay/<str:payment_link_id>/", views.offline_pay, name="offline_pay"),
]

# Our own checkout: the JSON API (schema at api/openapi.json, docs at api/docs) and its pages.
from . import checkout_views  # noqa: E402
from .api import api  # noqa: E402

urlpatterns += [
    path("api/", api.urls),
    path("checkout/start/", checkout_views.checkout_start_form, name="checkout_start"),
    path("checkout/waitlist/", checkout_views.waitlist_form, name="checkout_waitlist"),
    path("checkout/<uuid:checkout_id>/", checkout_views.checkout_page, name="checkout_page"),
    path("checkout/<uuid:checkout_id>/offline-confirm/", checkout_views.offline_confirm,
         name="checkout_offline_confirm"),
]
