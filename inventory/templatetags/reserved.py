"""{% reserved_back_in product %}: "Reserved — back in 4 min", counted down by live-stock.js."""

from django import template
from django.utils.html import format_html

from ..reserved import back_in_text, lapse_of, seconds_until

register = template.Library()


@register.simple_tag
def reserved_back_in(shown, live_only: bool = False, short: bool = False) -> str:
    """For a variant (Product) or a ProductFamily. Only a product all reserved asks when its holds lapse;
    `live_only` asks nothing and leaves the minutes to the live feed's first message (the scan page,
    whose turned-away buyers in a rush must cost no query more)."""
    seconds = None if live_only else seconds_until(lapse_of(shown))
    return format_html('<span data-back-in="{}" data-back-in-seconds="{}">{}</span>', "short" if short else "",
                       "" if seconds is None else seconds, back_in_text(seconds, short=short))
