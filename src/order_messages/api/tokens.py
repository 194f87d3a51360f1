"""Personal API tokens: made, listed and revoked on the tokens page, checked on each API
request. Only a token's SHA-256 is stored; the token itself is shown once."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from django.utils import timezone

from ..models import ApiToken

PREFIX = "om_"
# How many characters of a token are kept in clear, so a person can tell theirs apart.
SHOWN = 8
# ``last_used_at`` is written at most this often, so busy clients do not write every request.
LAST_USED_PRECISION = timedelta(minutes=1)


def digest_of(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(*, user, name: str) -> tuple[ApiToken, str]:
    """A new token for the user: the row, and the token itself (which is not stored)."""
    token = PREFIX + secrets.token_urlsafe(32)
    row = ApiToken.objects.create(
        user=user, name=name, prefix=token[:SHOWN], digest=digest_of(token)
    )
    return row, token


def active_tokens(*, user):
    return ApiToken.objects.filter(user=user, revoked_at__isnull=True).order_by("-created_at")


def revoke_token(*, user, token_id: int) -> bool:
    """Revoke one of the user's tokens. False if the user has no such active token."""
    return bool(
        ApiToken.objects.filter(pk=token_id, user=user, revoked_at__isnull=True).update(
            revoked_at=timezone.now()
        )
    )


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
    now = timezone.now()
    if row.last_used_at is None or now - row.last_used_at >= LAST_USED_PRECISION:
        ApiToken.objects.filter(pk=row.pk).update(last_used_at=now)
    return row.user
