"""Signed, expiring access links for customers who ordered without an account (S10)."""

from __future__ import annotations

from django.core import signing

from .adapter import Order
from .conf import app_settings

SALT = "order_messages.guest"
SESSION_KEY = "order_messages_guest_orders"


def make_guest_token(order: Order, *, email: str | None = None) -> str:
    """A link for the order's guest customer, bound to ``email`` (default: the address the
    order names now): it opens the order only while the order still names that address."""
    address = order.customer_email if email is None else email
    return signing.dumps({"o": order.number, "e": address.lower()}, salt=SALT)


def read_guest_token(token: str) -> tuple[str, str]:
    """(order number, e-mail) from a token. Raises signing.SignatureExpired or BadSignature."""
    data = signing.loads(token, salt=SALT, max_age=app_settings.GUEST_LINK_MAX_AGE)
    if not isinstance(data, dict) or not {"o", "e"} <= data.keys():
        raise signing.BadSignature("Malformed guest token.")
    return str(data["o"]), str(data["e"])


def guest_orders(session) -> dict[str, str]:
    """{order number: the address its link was issued to} of the links this browser
    followed. The policy lets a guest in only while the order still names that address."""
    found = session.get(SESSION_KEY)
    return dict(found) if isinstance(found, dict) else {}


def remember_guest_order(session, number: str, email: str) -> None:
    grants = guest_orders(session)
    if grants.get(number) != email:
        grants.pop(number, None)
        session[SESSION_KEY] = dict([*grants.items(), (number, email)][-20:])
