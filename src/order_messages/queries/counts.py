"""Unread counts: the header badge and the per-order labels."""

from __future__ import annotations

from collections.abc import Collection

from django.db import connections, router
from django.db.models import Count, F, OuterRef, Subquery, Sum
from django.db.models.functions import Coalesce

from ..models import Message, Participant, UnreadCounter


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


def recounted_unread():
    """A participant's unread messages counted from the messages themselves: those after
    the last one they read (an expression over ``Participant`` rows)."""
    later = (
        Message.objects.filter(
            conversation=OuterRef("conversation_id"), seq__gt=OuterRef("last_read_seq")
        )
        .order_by()
        .values("conversation")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return Coalesce(Subquery(later), 0)


def recounted_total():
    """A user's unread total summed from their participant rows (over ``UnreadCounter``)."""
    mine = (
        Participant.objects.filter(user_id=OuterRef("user_id"))
        .order_by()
        .values("user_id")
        .annotate(n=Sum("unread_count"))
        .values("n")
    )
    return Coalesce(Subquery(mine), 0)


def miscounted_participants(*, after: int, size: int) -> tuple[list[int], int | None]:
    """Among the next ``size`` participant rows by primary key after ``after``: the keys of
    those whose stored unread count differs from a recount, and the last key looked at
    (None past the end)."""
    keys = list(
        Participant.objects.filter(pk__gt=after).order_by("pk").values_list("pk", flat=True)[:size]
    )
    if not keys:
        return [], None
    wrong = (
        Participant.objects.filter(pk__gte=keys[0], pk__lte=keys[-1])
        .annotate(actual=recounted_unread())
        .exclude(unread_count=F("actual"))
        .values_list("pk", flat=True)
    )
    return list(wrong), keys[-1]


def miscounted_users() -> list[int]:
    """Users whose badge counter differs from the sum of their participant rows, or who
    have unread messages and no counter at all."""
    wrong = set(
        UnreadCounter.objects.annotate(actual=recounted_total())
        .exclude(count=F("actual"))
        .values_list("user_id", flat=True)
    )
    missing = (
        Participant.objects.filter(unread_count__gt=0)
        .exclude(user_id__in=UnreadCounter.objects.values("user_id"))
        .values_list("user_id", flat=True)
        .distinct()
    )
    return sorted(wrong | set(missing))
