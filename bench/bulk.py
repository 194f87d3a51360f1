"""Bulk loading into PostgreSQL with COPY: indexes and constraints are dropped for the load
and rebuilt afterwards, which is many times faster than keeping them up to date row by
row."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

import psycopg
from tqdm import tqdm

CHUNK = 20_000


def ts(epoch: int) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat()


def connect(url: str) -> psycopg.Connection:
    connection = psycopg.connect(url, autocommit=True)
    connection.execute("SET maintenance_work_mem = '1GB'")
    connection.execute("SET max_parallel_maintenance_workers = 2")
    return connection


@contextmanager
def without_indexes(connection: psycopg.Connection, tables: list[str]) -> Iterator[None]:
    """Drop the tables' constraints and indexes, and rebuild them on leaving: primary keys
    and unique constraints first, then foreign keys (validated in one pass), then the
    rest of the indexes."""
    constraints = connection.execute(
        """SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid), contype
           FROM pg_constraint
           WHERE conrelid = ANY(%s::regclass[]) AND contype IN ('p', 'u', 'f')""",
        [tables],
    ).fetchall()
    indexes = connection.execute(
        """SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid)
           FROM pg_index i
           WHERE i.indrelid = ANY(%s::regclass[])
             AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)""",
        [tables],
    ).fetchall()
    # Foreign keys from other tables that point at these ones go too, or the keys cannot drop.
    incoming = connection.execute(
        """SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid), contype
           FROM pg_constraint
           WHERE confrelid = ANY(%s::regclass[]) AND contype = 'f'
             AND NOT conrelid = ANY(%s::regclass[])""",
        [tables, tables],
    ).fetchall()
    for table, name, _, _ in [*incoming, *sorted(constraints, key=lambda c: c[3] != "f")]:
        connection.execute(f'ALTER TABLE {table} DROP CONSTRAINT IF EXISTS "{name}"')
    for name, _ in indexes:
        connection.execute(f"DROP INDEX IF EXISTS {name}")
    yield
    order = {"p": 0, "u": 1, "f": 2}
    for table, name, definition, _ in sorted(constraints, key=lambda c: order[c[3]]):
        connection.execute(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}')
    for table, name, definition, _ in incoming:
        connection.execute(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}')
    for _, definition in indexes:
        connection.execute(definition)
    for table in tables:
        connection.execute(f"ANALYZE {table}")


def text(value) -> str:
    """One field of COPY's text format."""
    if value is None:
        return r"\N"
    if value is True:
        return "t"
    if value is False:
        return "f"
    return str(value)


def copy_rows(
    connection: psycopg.Connection,
    table: str,
    columns: list[str],
    rows: Iterable[tuple],
    *,
    progress: str = "",
    total: int | None = None,
) -> int:
    """COPY the rows (tuples of str/int/None/bool, no tabs, newlines or backslashes in
    strings) into the table; returns how many. With ``progress``, a bar of that name
    counts them up to ``total``."""
    bar = tqdm(total=total, desc=progress, unit="row", unit_scale=True, disable=not progress)
    n = 0
    with bar, connection.cursor().copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        lines: list[str] = []
        for row in rows:
            lines.append("\t".join(map(text, row)))
            if len(lines) == CHUNK:
                copy.write(("\n".join(lines) + "\n").encode())
                n += len(lines)
                bar.update(len(lines))
                lines.clear()
        if lines:
            copy.write(("\n".join(lines) + "\n").encode())
            n += len(lines)
            bar.update(len(lines))
    return n


def reset_sequences(connection: psycopg.Connection, tables: list[str]) -> None:
    for table in tables:
        connection.execute(
            f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
            f"COALESCE((SELECT max(id) FROM {table}), 0) + 1, false)"
        )
