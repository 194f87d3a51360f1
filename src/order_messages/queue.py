"""What the e-mail outbox and the webhook outbox share: claiming due rows, and back-off.

A queue table has ``status`` (pending / sending / …), ``due_at``, ``claim`` and
``attempts``. A worker claims due rows with ``SELECT … FOR UPDATE SKIP LOCKED`` (on
SQLite the write lock serialises claims), marks them ``sending`` and moves ``due_at`` to
when its claim lapses, so that the rows of a worker that died are taken by another.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from django.db import models, transaction

PENDING, SENDING = "pending", "sending"


def claim_due(
    model: type[models.Model], *, limit: int, now: datetime, hold_seconds: int
) -> tuple[str, list[int]]:
    """Take up to ``limit`` due rows of ``model`` for this worker. Returns (claim, ids)."""
    claim = uuid.uuid4().hex
    with transaction.atomic():
        ids = list(
            model.objects.select_for_update(skip_locked=True)
            .filter(status__in=[PENDING, SENDING], due_at__lte=now)
            .order_by("due_at", "pk")
            .values_list("pk", flat=True)[:limit]
        )
        if ids:
            model.objects.filter(pk__in=ids).update(
                status=SENDING, claim=claim, due_at=now + timedelta(seconds=hold_seconds)
            )
    return claim, ids


def backoff(attempts: int, *, base: int, maximum: int) -> timedelta:
    """``base`` seconds after the first failure, doubling, at most ``maximum``."""
    return timedelta(seconds=min(base * 2 ** max(attempts - 1, 0), maximum))
