"""Unread counts: the header badge and the per-order labels."""

from __future__ import annotations

from collections.abc import Collection

from django.db import connections, router
from django.db.models import Sum

from ..models import Participant, UnreadCounter


def unread_total(user) -> int:
    """The header badge: one primary-key read.

    Every page asks, so the statement is written out: building it with the ORM costs
    several times what the database spends answering it."""
    if not user.is_authenticated:
        return 0
    connection = connections[router.db_for_read(UnreadCounter)]
    quote, meta = connection.ops.quote_name, UnreadCounter._meta
    sql = (
        f"SELECT {quote(meta.get_field('count').column)} FROM {quote(meta.db_table)} "
        f"WHERE {quote(meta.pk.column)} = %s"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [user.pk])
        row = cursor.fetchone()
    return row[0] if row else 0


def unread_by_order(*, user, order_numbers: Collection[str]) -> dict[str, int]:
    """Unread messages per order for a list of orders (My orders), in one query."""
    if not user.is_authenticated or not order_numbers:
        return {}
    rows = (
        Participant.objects.filter(
            user=user, unread_count__gt=0, conversation__order_number__in=list(order_numbers)
        )
        .values_list("conversation__order_number")
        .annotate(n=Sum("unread_count"))
    )
    return dict(rows)
