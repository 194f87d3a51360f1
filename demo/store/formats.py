"""How the demo store writes prices, in the visitor's language."""

from django.utils.formats import number_format
from django.utils.translation import gettext


def money(amount) -> str:
    """A price in euros as the current language writes it: "€549.00" or "549,00 €"."""
    # Translators: a price in euros; %(amount)s is the amount with two decimals.
    return gettext("€%(amount)s") % {"amount": number_format(amount, decimal_pos=2)}
