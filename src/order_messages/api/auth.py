"""Who is calling: a personal token (``Authorization: Bearer om_…``) for apps and
integrations, or the site's session (with its CSRF token) for the site's own pages."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from ninja.errors import AuthenticationError
from ninja.security import HttpBearer
from ninja.security import SessionAuth as NinjaSessionAuth

from ..guest import guest_orders
from .tokens import user_for_token


class InvalidToken(AuthenticationError):
    def __init__(self):
        super().__init__(401, _("This API token is not valid or has been revoked."))


class TokenAuth(HttpBearer):
    """A personal token from the tokens page. A token that does not work is refused even
    when a session cookie comes along, so a client learns its token is bad."""

    def authenticate(self, request, token):
        user = user_for_token(token)
        if user is None:
            raise InvalidToken()
        request.user = user
        request.om_token_auth = True
        return user


class SessionAuth(NinjaSessionAuth):
    """The site's session, with Django's CSRF check on unsafe methods. Without a logged-in
    session it steps aside, so a stranger is told to authenticate (401) rather than that a
    CSRF token is missing (403)."""

    def __call__(self, request):
        if not request.user.is_authenticated:
            return None
        return super().__call__(request)


def uses_session(request) -> bool:
    return not getattr(request, "om_token_auth", False)


def guests_of(request) -> dict[str, str]:
    """The guest orders the caller may open besides their own: those remembered in the
    session count for the session, not for a token."""
    return guest_orders(request.session) if uses_session(request) else {}
