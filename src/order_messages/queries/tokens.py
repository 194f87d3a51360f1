"""A person's own active API tokens, for the API's list of them."""

from __future__ import annotations

from ..models import ApiToken
from .cursors import newest_first_page


def token_page(*, user, cursor: str | None = None, size: int = 50):
    """(tokens, next cursor): the person's active tokens, newest first."""
    tokens = ApiToken.objects.filter(user=user, revoked_at__isnull=True)
    return newest_first_page(tokens, segment="t", cursor=cursor, size=size)
