from django.conf import settings
from django.contrib import admin
from django.shortcuts import redirect
from django.templatetags.static import static
from django.urls import include, path, re_path
from django.views.static import serve

from payments.intake.views import stripe_webhook

urlpatterns = [
    path("admin/", admin.site.urls),
    # Browsers ask for /favicon.ico whatever the page links; the icon is an SVG among the static files.
    path("favicon.ico", lambda request: redirect(static("favicon.svg"), permanent=True)),
    # Where Stripe posts events (the path dj-stripe's view had, so endpoints registered at Stripe stay valid).
    path("stripe/webhook/<uuid:uuid>/", stripe_webhook, name="stripe_webhook"),
    # Only for dj-stripe's URL names (its admin's endpoint form and `stripe_listen` reverse them): its
    # view answers the same path, so ours, above, is the one that runs.
    path("stripe/", include("djstripe.urls", namespace="djstripe")),
    # Product pictures staff uploaded (only PNG, JPEG and WebP are accepted: inventory.models). Served
    # here from MEDIA_ROOT; with object storage (STORAGES["default"]) their URLs point there instead.
    re_path(r"^media/(?P<path>products/[^/]+)$", lambda request, path: serve(request, path, settings.MEDIA_ROOT)),
    path("staff/", include("backoffice.urls")),  # the booth's day: counts, moves, CSV, end-of-day report
    path("", include("payments.urls")),
    path("", include("inventory.urls")),
]
