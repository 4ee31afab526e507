"""{% intake_health %}: the staff dashboard's line on how Stripe's events reach the store."""

from django import template
from django.conf import settings

from ..intake.selectors import intake_health as intake_health_now

register = template.Library()


@register.inclusion_tag("payments/_intake_health.html")
def intake_health(time_zone: str = ""):
    """Times in `time_zone` (the page's: the booths' zone on the dashboard), else the site's."""
    return {"health": intake_health_now(), "time_zone": time_zone or settings.TIME_ZONE}
