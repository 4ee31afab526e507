from django.conf import settings
from django.contrib import admin
from django.urls import include, path, re_path
from django.views.static import serve

from common.health import healthz
from payments.intake.views import StripeWebhookView

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("admin/", admin.site.urls),
    # dj-stripe's webhook path, answered by our view first: it refuses bad deliveries before storing them.
    path("stripe/webhook/<uuid:uuid>/", StripeWebhookView.as_view(), name="stripe_webhook"),
    path("stripe/", include("djstripe.urls", namespace="djstripe")),
    # Product pictures staff uploaded (only PNG, JPEG and WebP are accepted: inventory.models). Served
    # here from MEDIA_ROOT; with object storage (STORAGES["default"]) their URLs point there instead.
    re_path(r"^media/(?P<path>products/[^/]+)$", lambda request, path: serve(request, path, settings.MEDIA_ROOT)),
    path("staff/", include("backoffice.urls")),  # the booth's day: counts, moves, CSV, end-of-day report
    path("", include("payments.urls")),
    path("", include("inventory.urls")),
]
