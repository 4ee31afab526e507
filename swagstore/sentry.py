"""Error reports to Sentry, only when SENTRY_DSN is set (the settings call sentry_init then).

Sentry's Django and Celery integrations report unhandled errors from requests and tasks. Nothing
personal leaves: no user, cookies or client addresses (send_default_pii=False), no request bodies
(a webhook's body holds the buyer's e-mail address), and no local variables (frames may hold the
webhook secret or a Stripe key, as swagstore/error_reports.py explains for Django's own reports).
"""

import sentry_sdk
from sentry_sdk.integrations.celery import CeleryIntegration
from sentry_sdk.integrations.django import DjangoIntegration


def sentry_init(*, dsn: str, environment: str, traces_sample_rate: float) -> None:
    sentry_sdk.init(
        dsn=dsn, environment=environment or None, traces_sample_rate=traces_sample_rate,
        integrations=[DjangoIntegration(), CeleryIntegration()],
        send_default_pii=False, max_request_body_size="never", include_local_variables=False,
    )
