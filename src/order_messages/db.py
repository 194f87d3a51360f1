"""UPDATE … RETURNING: change rows and read back what was written, in one statement."""

from __future__ import annotations

from collections.abc import Sequence

from django.core.exceptions import EmptyResultSet
from django.db import connections, router
from django.db.models import QuerySet, sql

# Both read the rows an UPDATE wrote back from the same statement (SQLite since 3.35).
RETURNING_VENDORS = frozenset({"postgresql", "sqlite"})


def update_returning(
    queryset: QuerySet, fields: Sequence[str], *, also: Sequence[str] = (), **values
) -> list[tuple]:
    """Update the queryset's rows with ``values`` (as ``QuerySet.update``) and return
    ``fields`` of each row as written. The rows stay locked until the transaction ends, so
    what comes back is what commits. ``also``: SQL expressions without parameters (such as
    ``EXISTS (SELECT …)``), evaluated in the same statement and returned after the fields
    as the database gives them. One statement where the database can; elsewhere an UPDATE
    and a SELECT or two."""
    using = queryset._db or router.db_for_write(queryset.model)
    connection = connections[using]
    if not (
        connection.vendor in RETURNING_VENDORS
        and connection.features.can_return_columns_from_insert  # SQLite 3.35 and later
    ):
        queryset = queryset.using(using)
        keys = list(queryset.values_list("pk", flat=True))
        rows_of = queryset.model._base_manager.using(using).filter(pk__in=keys)
        rows_of.update(**values)
        rows = list(rows_of.values_list(*fields))
        if also:
            with connection.cursor() as cursor:
                cursor.execute("SELECT " + ", ".join(also))
                extra = tuple(cursor.fetchone())
            rows = [row + extra for row in rows]
        return rows
    query = queryset.query.chain(sql.UpdateQuery)
    query.add_update_values(values)
    compiler = query.get_compiler(connection=connection)
    try:
        statement, params = compiler.as_sql()
    except EmptyResultSet:
        return []  # a condition nothing can meet, such as ``pk__in=[]``
    if query.related_updates:
        raise ValueError("update_returning updates one table's rows only")
    meta = queryset.model._meta
    columns = [meta.get_field(name) for name in fields]
    quote = connection.ops.quote_name
    statement += " RETURNING " + ", ".join([*(quote(f.column) for f in columns), *also])
    converters = []
    for field in columns:
        column = field.get_col(meta.db_table)
        converters.append(
            (column, connection.ops.get_db_converters(column) + field.get_db_converters(connection))
        )
    with connection.cursor() as cursor:
        cursor.execute(statement, params)
        rows = cursor.fetchall()
    converted = []
    for row in rows:
        values_out = []
        for value, (column, functions) in zip(row, converters, strict=False):
            for convert in functions:
                value = convert(value, column, connection)
            values_out.append(value)
        converted.append(tuple(values_out) + tuple(row[len(converters) :]))
    return converted
