"""The API's stored answers to requests sent with an ``Idempotency-Key``."""

from __future__ import annotations

from ..models import IdempotentRequest


def remember_answer(*, user, key: str, fingerprint: str, status: int, body: dict) -> None:
    """Keep the answer given to this key, in the transaction of what the request wrote, so
    both are kept or neither. A second request with the key fails on its uniqueness."""
    IdempotentRequest.objects.create(
        user=user, key=key, fingerprint=fingerprint, status_code=status, body=body
    )
