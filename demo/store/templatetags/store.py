from django import template

from ..formats import money as format_money

register = template.Library()


@register.filter
def money(amount):
    """``{{ product.price|money }}``: "€549.00", or "549,00 €" in German."""
    return format_money(amount)
