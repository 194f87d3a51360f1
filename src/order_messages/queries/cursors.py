"""Opaque keyset cursors: a segment letter, a timestamp and a primary key.

The segment says which part of a list the last row shown was in, for lists sorted in
parts (the inbox: "u" unread, then "r" read; the back office: "e" escalated disputes,
then "c" the rest, or "a" for the conversations awaiting a reply)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def encode_cursor(segment: str, at: datetime, pk: int) -> str:
    micros = (at - EPOCH) // timedelta(microseconds=1)
    return f"{segment}{micros}.{pk}"


def decode_cursor(cursor: str | None, segments: str) -> tuple[str, datetime, int] | None:
    """(segment, timestamp, pk), or None for anything that is not a cursor we made."""
    try:
        segment, rest = cursor[0], cursor[1:]
        micros, pk = rest.split(".")
        if segment not in segments:
            raise ValueError
        return segment, EPOCH + timedelta(microseconds=int(micros)), int(pk)
    except (TypeError, ValueError, IndexError, OverflowError, OSError):
        return None


def after(position: tuple[str, datetime, int], field: str = "last_message_at", *, ascending=False):
    """Rows strictly after the cursor in (-field, -pk) order, or (field, pk) ``ascending``.

    The redundant ``field <= at`` (``>=``) gives the database an index range to start
    from, so a page deep in a long list costs what the first page costs; the OR alone
    would make it walk every row before the cursor."""
    from django.db.models import Q

    _, at, pk = position
    if ascending:
        return Q(**{f"{field}__gte": at}) & (
            Q(**{f"{field}__gt": at}) | Q(**{field: at, "pk__gt": pk})
        )
    return Q(**{f"{field}__lte": at}) & (Q(**{f"{field}__lt": at}) | Q(**{field: at, "pk__lt": pk}))


def newest_first_page(queryset, *, segment: str, cursor: str | None, size: int, field="created_at"):
    """A keyset page of rows newest first by ``field`` (then pk): (rows, next cursor or
    None). A cursor that is not one of this list's starts from the beginning."""
    rows = queryset.order_by(f"-{field}", "-pk")
    position = decode_cursor(cursor, segment)
    if position is not None:
        rows = rows.filter(after(position, field))
    rows = list(rows[: size + 1])
    if len(rows) <= size:
        return rows, None
    last = rows[size - 1]
    return rows[:size], encode_cursor(segment, getattr(last, field), last.pk)
