"""How fast one person may write through the pages and the API: at most
``ORDER_MESSAGES_POST_RATE_LIMIT = (posts, seconds)`` messages and dispute openings in any
span of that many seconds. Replies by e-mail have their own limit (INBOUND_RATE_LIMIT).
And how often one conversation's dispute may change, whoever changes it:
``ORDER_MESSAGES_DISPUTE_RATE_LIMIT = (events, seconds)`` (``check_dispute_rate``).

The count comes from the messages table, not from a cache: it is the same for every server
process (a per-process cache would let each process allow its own quota), costs one index
range scan of at most ``posts`` rows (``om_message_author_recent``), and a refused post
leaves nothing behind to expire. On PostgreSQL a transaction-scoped advisory lock per
author makes one person's posts take turns, so two posted at the same moment cannot both
pass on the last free place; SQLite allows one writing transaction at a time anyway.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta

from django.db import connection, transaction
from django.db.models import QuerySet
from django.utils import timezone

from .conf import app_settings
from .errors import Throttled
from .models import Attachment, Conversation, Message
from .queries import Actor


def _lock_key(who: str) -> int:
    digest = hashlib.blake2b(f"order_messages.post:{who}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def check_posting_rate(*, actor: Actor, order_number: str) -> None:
    """Raise Throttled (with ``retry_after`` seconds) when the actor has written their quota
    lately. Runs in the transaction of the post it lets through, so that post is counted
    before the next one of the same person is checked (``post_message(limit_rate=True)``)."""
    rate = app_settings.POST_RATE_LIMIT
    if rate is None:
        return
    assert transaction.get_connection().in_atomic_block
    posts, seconds = rate
    # A guest has no account: their posts are counted per order, the one their link opens.
    who = f"user:{actor.user.pk}" if actor.user is not None else f"guest:{order_number}"
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_lock_key(who)])
    if actor.user is not None:
        written = Message.objects.filter(author=actor.user)
    else:
        written = Message.objects.filter(author=None, conversation__order_number=order_number)
    check_window(written, limit=posts, seconds=seconds)


@contextmanager
def limit_posting(*, actor: Actor, order_number: str) -> Iterator[None]:
    """Run a post (a dispute's opening) inside this block: ``check_posting_rate`` in a
    transaction the block shares."""
    if app_settings.POST_RATE_LIMIT is None:
        yield
        return
    with transaction.atomic():
        check_posting_rate(actor=actor, order_number=order_number)
        yield


def check_upload_rate(*, actor: Actor, order_number: str) -> None:
    """Raise Throttled when the person uploaded ``ATTACHMENT_UPLOAD_RATE_LIMIT`` files
    lately, those removed again included: each upload is an image decoded and encoded,
    the costliest thing a person can ask of the server. A guest's are counted per order."""
    rate = app_settings.ATTACHMENT_UPLOAD_RATE_LIMIT
    if rate is None:
        return
    uploads, seconds = rate
    if actor.user is not None:
        made = Attachment.objects.filter(uploaded_by=actor.user)
    else:
        made = Attachment.objects.filter(by_guest=True, order_number=order_number)
    check_window(made, limit=uploads, seconds=seconds)


def check_window(rows: QuerySet, *, limit: int, seconds: int) -> None:
    """Raise Throttled when ``limit`` of these rows were created in the last ``seconds``;
    reads at most ``limit`` of them, newest first."""
    now = timezone.now()
    latest = list(
        rows.filter(created_at__gt=now - timedelta(seconds=seconds))
        .order_by("-created_at")
        .values_list("created_at", flat=True)[:limit]
    )
    if len(latest) >= limit:
        raise Throttled(retry_after=_retry_after(latest[-1], seconds=seconds, now=now))


def _retry_after(oldest: datetime, *, seconds: int, now: datetime) -> int:
    """Seconds until ``oldest`` leaves the window, which frees a place (at least one)."""
    wait = (oldest + timedelta(seconds=seconds) - now).total_seconds()
    return max(1, math.ceil(wait))


def check_dispute_rate(*, conversation: Conversation) -> None:
    """Raise Throttled when the conversation's dispute was opened or closed
    ``DISPUTE_RATE_LIMIT`` times lately, by anyone: each change e-mails the vendor, the
    store's staff and the store's address, which no mute stops.

    Call it holding the conversation's row lock (the dispute actions do), so that two
    changes at the same moment take turns and cannot both take the last free place.

    The count is of the conversation's dispute messages, newest first by seq, which grows
    with time within a conversation: the read walks ``om_gapless_seq`` (conversation, seq)
    backwards and stops at the ``events``-th, so it never leaves this one conversation's
    messages, and in a flood it reads only the newest few.
    """
    rate = app_settings.DISPUTE_RATE_LIMIT
    if rate is None:
        return
    events, seconds = rate
    now = timezone.now()
    latest = list(
        Message.objects.filter(
            conversation=conversation,
            kind__in=Message.DISPUTE_KINDS,
            created_at__gt=now - timedelta(seconds=seconds),
        )
        .order_by("-seq")
        .values_list("created_at", flat=True)[:events]
    )
    if len(latest) >= events:
        oldest = min(latest) if latest else now  # (0, seconds): nothing is allowed
        raise Throttled(retry_after=_retry_after(oldest, seconds=seconds, now=now))
