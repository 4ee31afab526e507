"""{% intake_health %}: the staff dashboard's line on how Stripe's events reach the store."""

from django import template

from ..intake.selectors import intake_health as intake_health_now

register = template.Library()


@register.inclusion_tag("payments/_intake_health.html")
def intake_health():
    return {"health": intake_health_now()}
