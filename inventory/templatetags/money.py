from django import template

from common.money import money as format_money

register = template.Library()


@register.filter
def price(product) -> str:
    """A product's unit price: {{ product|price }}."""
    return format_money(product.unit_amount, product.currency)
