"""Personal API tokens, as the API and the tokens page read them: a person's active tokens,
and the user a presented token stands for. Making, revoking and noting the use of a token
are actions (``actions/tokens.py``)."""

from __future__ import annotations

from ..actions.tokens import PREFIX, digest_of, record_token_use
from ..models import ApiToken


def active_tokens(*, user):
    return ApiToken.objects.filter(user=user, revoked_at__isnull=True).order_by("-created_at")


def user_for_token(token: str):
    """The active user a token belongs to, or None for a token that is unknown, revoked, or
    whose user was deactivated."""
    if not token.startswith(PREFIX) or len(token) > 200:
        return None
    row = (
        ApiToken.objects.select_related("user")
        .filter(digest=digest_of(token), revoked_at__isnull=True, user__is_active=True)
        .first()
    )
    if row is None:
        return None
    record_token_use(token=row)
    return row.user
