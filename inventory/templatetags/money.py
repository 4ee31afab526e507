from django import template

from common.money import money as format_money
from common.times import local_datetime, local_time

register = template.Library()


@register.filter
def price(product) -> str:
    """A product's unit price: {{ product|price }} → "$25.00"."""
    return format_money(product.unit_amount, product.currency)


@register.filter
def money(amount, currency: str) -> str:
    """An amount in the currency's smallest unit: {{ order.amount_total|money:order.currency }}."""
    return format_money(amount, currency or "usd")


@register.filter
def store_time(moment, time_zone: str) -> str:
    """{{ sale.created_at|store_time:store.time_zone }} → "2:05 PM", in the booth's zone."""
    return local_time(moment, time_zone)


@register.filter
def store_datetime(moment, time_zone: str) -> str:
    """{{ sale.created_at|store_datetime:store.time_zone }} → "Dec 6, 2026, 2:05 PM"."""
    return local_datetime(moment, time_zone)
