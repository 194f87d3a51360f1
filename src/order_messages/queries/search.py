"""Full-text search of message bodies for the back office: the words of a search, the
newest messages of a scope that have them, ranked, and a snippet with the words marked.

The index is the database's own (migration 0011_search): a tsvector table with GIN
indexes on PostgreSQL, an FTS5 table on SQLite, both kept by triggers. The person's
words never reach the database as query syntax: each becomes a quoted term, the last one
a prefix ("refun" finds "refund").
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.db import connection

from ..policy import Scope

# Words of one search that count; more are ignored.
MAX_WORDS = 8
# The newest matching messages of a scope that are ranked. A word found in very many
# messages ranks only the newest of them: the database reads these and stops.
DEPTH = 1000
# What marks the matching words in a snippet, before it is split into parts. Neither is
# indexed: the triggers (SQLite) and the headline query (PostgreSQL) take them out.
START, STOP = "\x02", "\x03"
HEADLINE_OPTIONS = (
    f"StartSel={START}, StopSel={STOP}, MaxWords=24, MinWords=10, ShortWord=2, "
    'MaxFragments=2, FragmentDelimiter=" … "'
)


def supported() -> bool:
    """Whether the database has the index (other databases search with LIKE)."""
    return connection.vendor in ("postgresql", "sqlite")


def search_words(text: str) -> list[str]:
    """The words (letters and digits) of what a person typed; punctuation, quotes and
    operators are separators, never syntax."""
    return re.findall(r"\w+", text.replace("\x00", ""))[:MAX_WORDS]


@dataclass(frozen=True)
class Hit:
    conversation_id: int
    message_id: int
    rank: float  # 0 < rank < 1, higher is better


def message_hits(*, scope: Scope, words: list[str], depth: int = DEPTH) -> list[Hit]:
    """The newest ``depth`` messages of the scope's vendors (every vendor's for the store)
    that have all the words, ranked. The scope is part of the index scan."""
    if not words or not supported() or not (scope.is_store or scope.vendor_keys):
        return []
    keys = [] if scope.is_store else sorted(scope.vendor_keys)
    if connection.vendor == "postgresql":
        # One equality per key: GIN takes "=" (several become a BitmapOr), not "= ANY".
        in_scope = " OR ".join(["vendor_key = %s"] * len(keys))
        sql = (
            "SELECT conversation_id, message_id, ts_rank(vector, om_search_query(%s), 32) "
            "FROM order_messages_search WHERE vector @@ om_search_query(%s) "
            + (f"AND ({in_scope}) " if keys else "")
            + "ORDER BY message_id DESC LIMIT %s"
        )
        params = [words, words, *keys, depth]
    else:
        sql = (
            "SELECT conversation_id, rowid, bm25(order_messages_search) "
            "FROM order_messages_search WHERE order_messages_search MATCH %s "
            + (f"AND vendor_key IN ({', '.join(['%s'] * len(keys))}) " if keys else "")
            + "ORDER BY rowid DESC LIMIT %s"
        )
        params = [fts5_query(words), *keys, depth]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        found = cursor.fetchall()
    if connection.vendor == "sqlite":
        # bm25 is negative, lower is better: brought to PostgreSQL's 0 .. 1, higher better.
        return [Hit(c, m, -score / (1 - score)) for c, m, score in found]
    return [Hit(c, m, rank) for c, m, rank in found]


def fts5_query(words: list[str]) -> str:
    """An FTS5 query of the words, each quoted (so none is an operator), the last a prefix."""
    terms = ['"' + word.replace('"', '""') + '"' for word in words]
    terms[-1] += "*"
    return " ".join(terms)


def best_hits(hits: list[Hit]) -> dict[int, Hit]:
    """Each conversation's best hit: the highest rank, then the newest message."""
    best: dict[int, Hit] = {}
    for hit in hits:  # newest first
        if hit.conversation_id not in best or hit.rank > best[hit.conversation_id].rank:
            best[hit.conversation_id] = hit
    return best


@dataclass(frozen=True)
class Snippet:
    """Part of a matching message: (text, marked) pairs; marked parts are the words found."""

    message_id: int
    seq: int
    parts: tuple[tuple[str, bool], ...]

    @property
    def text(self) -> str:
        return "".join(text for text, _ in self.parts)

    @property
    def highlights(self) -> list[tuple[int, int]]:
        """(start, end) of each marked part in ``text``, in characters."""
        spans, at = [], 0
        for text, marked in self.parts:
            if marked:
                spans.append((at, at + len(text)))
            at += len(text)
        return spans


def split_marks(marked: str) -> tuple[tuple[str, bool], ...]:
    parts = []
    for piece in re.split(f"({START}[^{STOP}]*{STOP})", marked):
        if piece.startswith(START):
            parts.append((piece[1:-1], True))
        elif piece:
            parts.append((piece.replace(START, "").replace(STOP, ""), False))
    return tuple(parts)


def snippets(*, words: list[str], message_ids: list[int]) -> dict[int, Snippet]:
    """The snippets of these messages with the words marked, by message id."""
    if not words or not message_ids or not supported():
        return {}
    marks = f"'{START}{STOP}'"
    if connection.vendor == "postgresql":
        sql = (
            "SELECT id, seq, om_search_headline("
            f"translate(body, {marks}, ''), om_search_query(%s), %s) "
            "FROM order_messages_message WHERE id = ANY(%s)"
        )
        params = [words, HEADLINE_OPTIONS, message_ids]
    else:
        sql = (
            "SELECT s.rowid, m.seq, snippet(order_messages_search, 0, char(2), char(3), "
            "'…', 24) FROM order_messages_search s "
            "JOIN order_messages_message m ON m.id = s.rowid "
            f"WHERE order_messages_search MATCH %s AND s.rowid IN "
            f"({', '.join(['%s'] * len(message_ids))})"
        )
        params = [fts5_query(words), *message_ids]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return {
            pk: Snippet(message_id=pk, seq=seq, parts=split_marks(marked))
            for pk, seq, marked in cursor.fetchall()
        }
