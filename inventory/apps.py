from django.apps import AppConfig


class InventoryConfig(AppConfig):
    name = "inventory"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        # In ready(): receivers import models, which need the app registry (waitlist follows stock_changed).
        from . import receivers  # noqa: F401
