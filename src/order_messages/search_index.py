"""SQLite keeps the back office's search index with triggers on the message table
(migration 0011_search), and Django changes a table on SQLite by building a new one and
renaming it: that drops the table's triggers, and a rename fails while a trigger names a
table that is being replaced. So around every ``migrate`` the triggers are taken away
(``pre_migrate``) and put back (``post_migrate``), and the index catches up with what was
written or deleted meanwhile. PostgreSQL changes tables in place: nothing to do there."""

from __future__ import annotations

from importlib import import_module

from django.db import connections

TRIGGERS = ("om_search_insert", "om_search_update", "om_search_delete")


def _sqlite_with_index(using: str):
    connection = connections[using]
    if connection.vendor != "sqlite":
        return None
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'order_messages_search'"
        )
        return connection if cursor.fetchone() else None


def drop_triggers(*, using: str, **kwargs) -> None:
    """pre_migrate: SQLite's search triggers out of the way of the migrations."""
    if (connection := _sqlite_with_index(using)) is None:
        return
    with connection.cursor() as cursor:
        for name in TRIGGERS:
            cursor.execute(f"DROP TRIGGER IF EXISTS {name}")


def restore_triggers(*, using: str, **kwargs) -> None:
    """post_migrate: the triggers back, and the index as the messages are now."""
    if (connection := _sqlite_with_index(using)) is None:
        return
    search = import_module("order_messages.migrations.0011_search")
    with connection.cursor() as cursor:
        for statement in search.SQLITE_TRIGGERS:
            cursor.execute(statement.replace("CREATE TRIGGER", "CREATE TRIGGER IF NOT EXISTS", 1))
        cursor.execute(
            "DELETE FROM order_messages_search "
            "WHERE rowid NOT IN (SELECT id FROM order_messages_message)"
        )
        cursor.execute(
            search.SQLITE_FILL + " WHERE m.id NOT IN (SELECT rowid FROM order_messages_search)"
        )
