from django.apps import AppConfig


class PaymentsConfig(AppConfig):
    name = "payments"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        # In ready(): receivers import models, which need the app registry (they connect inventory's
        # signals and our own); checks registers our system checks alongside.
        from . import checks, receivers  # noqa: F401

