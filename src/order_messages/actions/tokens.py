"""Personal API tokens (A1): made and revoked on the tokens page; their last use noted when
the API checks one (``api/tokens.py``). Only a token's SHA-256 is stored; the token itself
is shown once."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from django.utils import timezone

from ..models import ApiToken
from .messages import check_text

PREFIX = "om_"
# How many characters of a token are kept in clear, so a person can tell theirs apart.
SHOWN = 8
# ``last_used_at`` is written at most this often, so busy clients do not write every request.
LAST_USED_PRECISION = timedelta(minutes=1)


def digest_of(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(*, user, name: str) -> tuple[ApiToken, str]:
    """A new token for the user: the row, and the token itself (which is not stored)."""
    check_text(name)
    token = PREFIX + secrets.token_urlsafe(32)
    row = ApiToken.objects.create(
        user=user, name=name, prefix=token[:SHOWN], digest=digest_of(token)
    )
    return row, token


def revoke_token(*, user, token_id: int) -> bool:
    """Revoke one of the user's own active tokens: apps using it are refused from the next
    request on. False if the user has no such active token (someone else's, an unknown id,
    one revoked already), and nothing changes."""
    return bool(
        ApiToken.objects.filter(pk=token_id, user=user, revoked_at__isnull=True).update(
            revoked_at=timezone.now()
        )
    )


def record_token_use(*, token: ApiToken, now: datetime | None = None) -> None:
    """Note that the token was just used, at most once per LAST_USED_PRECISION."""
    now = now or timezone.now()
    if token.last_used_at is None or now - token.last_used_at >= LAST_USED_PRECISION:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
