from django.apps import AppConfig
from django.core import checks
from djstripe.checks import check_webhook_event_callback_accepts_api_key as djstripe_callback_check


class PaymentsConfig(AppConfig):
    name = "payments"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        # In ready(): receivers import models, which need the app registry (they connect dj-stripe's and
        # inventory's signals); checks registers our system checks alongside.
        from . import checks, receivers  # noqa: F401

        _quiet_callback_deprecation()


def _quiet_callback_deprecation():
    """Keep dj-stripe's callback signature check but drop its deprecation notice.

    We use DJSTRIPE_WEBHOOK_EVENT_CALLBACK on purpose (dj-stripe pinned at 2.11): it is the one
    hook that lets a verified event be stored without dj-stripe calling Stripe. The notice would
    otherwise print on every management command.
    """

    def check_webhook_event_callback(app_configs=None, **kwargs):
        return [m for m in djstripe_callback_check(app_configs, **kwargs) if "deprecated" not in m.msg]

    checks.registry.registry.registered_checks.discard(djstripe_callback_check)
    checks.register(check_webhook_event_callback, "djstripe")
