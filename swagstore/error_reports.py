"""Error reports hide what code marks sensitive even with DEBUG on.

Django's filter steps aside under DEBUG, so a demo server's error page would show the webhook
secret held by the offline pay pages' frames. Those frames are marked with sensitive_variables;
this filter honours the marks always (settings were cleansed by name already, DEBUG or not).
"""

from django.views.debug import SafeExceptionReporterFilter


class AlwaysSafeExceptionReporterFilter(SafeExceptionReporterFilter):
    def is_active(self, request) -> bool:
        return True
