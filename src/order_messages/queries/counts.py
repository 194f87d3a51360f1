"""Unread counts: the header badge and the per-order labels."""

from __future__ import annotations

from collections.abc import Collection

from django.db.models import Sum

from ..models import Participant, UnreadCounter


def unread_total(user) -> int:
    """The header badge: one primary-key read."""
    if not user.is_authenticated:
        return 0
    return UnreadCounter.objects.filter(pk=user.pk).values_list("count", flat=True).first() or 0


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
