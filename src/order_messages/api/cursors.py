"""The ``after`` of the API's lists: a ``next_cursor`` the same list gave, or none for the
first page. The queries read any other as the first page, which suits a page address
someone shortened; the API refuses it (InvalidCursor), so that a program whose cursor was
corrupted is told rather than silently sent back to the start."""

from __future__ import annotations

import re

from ..queries.cursors import decode_cursor
from .errors import InvalidCursor


def check_cursor(cursor: str | None, *, segments: str) -> None:
    """Refuse a cursor that is not one of a keyset list whose parts are ``segments``
    (queries.cursors); none is the first page."""
    if cursor and decode_cursor(cursor, segments) is None:
        raise InvalidCursor()


def position_of(cursor: str | None, *, letter: str) -> int | None:
    """The number a cursor ``<letter><number>`` names (a position in search results, a
    page of orders), or None for none; refuse any other cursor."""
    if not cursor:
        return None
    if not re.fullmatch(rf"{letter}[0-9]{{1,8}}", cursor):
        raise InvalidCursor()
    return int(cursor[1:])
