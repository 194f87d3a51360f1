"""Signed, expiring access links for customers who ordered without an account (S10)."""

from __future__ import annotations

from django.core import signing

from .adapter import Order
from .conf import app_settings

SALT = "order_messages.guest"
SESSION_KEY = "order_messages_guest_orders"


def make_guest_token(order: Order) -> str:
    return signing.dumps({"o": order.number, "e": order.customer_email.lower()}, salt=SALT)


def read_guest_token(token: str) -> tuple[str, str]:
    """(order number, e-mail) from a token. Raises signing.SignatureExpired or BadSignature."""
    data = signing.loads(token, salt=SALT, max_age=app_settings.GUEST_LINK_MAX_AGE)
    if not isinstance(data, dict) or not {"o", "e"} <= data.keys():
        raise signing.BadSignature("Malformed guest token.")
    return str(data["o"]), str(data["e"])


def guest_orders(session) -> list[str]:
    return list(session.get(SESSION_KEY, []))


def remember_guest_order(session, number: str) -> None:
    numbers = guest_orders(session)
    if number not in numbers:
        session[SESSION_KEY] = [*numbers, number][-20:]
