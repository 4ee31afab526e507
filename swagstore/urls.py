from django.contrib import admin
from django.urls import include, path

from payments.intake.views import StripeWebhookView

urlpatterns = [
    path("admin/", admin.site.urls),
    # dj-stripe's webhook path, answered by our view first: it refuses bad deliveries before storing them.
    path("stripe/webhook/<uuid:uuid>/", StripeWebhookView.as_view(), name="stripe_webhook"),
    path("stripe/", include("djstripe.urls", namespace="djstripe")),
    path("staff/", include("backoffice.urls")),  # the booth's day: counts, moves, CSV, end-of-day report
    path("", include("payments.urls")),
    path("", include("inventory.urls")),
]
