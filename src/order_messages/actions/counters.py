"""Repairing unread counts that no longer match the messages (after a restore, a manual
edit of the database, or a bug). The posting and reading actions keep them exact; these
put them right again without stopping the site."""

from __future__ import annotations

from django.db import transaction
from django.db.models import Case, F, IntegerField, When
from django.db.models.functions import Greatest

from ..models import Participant, UnreadCounter
from ..queries.counts import recounted_total, recounted_unread


def counter_less(n: int):
    """The badge counter less ``n``, never below zero. A counter already wrong (after a
    restore or a manual edit) must not make reading or posting fail on the database's
    check; check_unread_counts --repair puts it right."""
    return Greatest(F("count") - n, 0)


def unread_totals(user_ids) -> dict[int, dict]:
    """{user id: {"total": unread}} as committed: the data of ``unread.changed``."""
    totals = dict(
        UnreadCounter.objects.filter(user_id__in=user_ids).values_list("user_id", "count")
    )
    return {user_id: {"total": totals.get(user_id, 0)} for user_id in user_ids}


def change_counters(deltas: dict[int, int]) -> list[int]:
    """Add each user's delta to their badge counter (never below zero) in one UPDATE, the
    rows locked in user order: the last locks a write takes. Returns the users whose
    counter changed."""
    deltas = {user_id: delta for user_id, delta in deltas.items() if delta}
    if not deltas:
        return []
    if len(deltas) > 1:  # one row needs no ordering: its UPDATE is its lock
        lock_in_user_order(UnreadCounter.objects.filter(user_id__in=deltas))
    by_delta: dict[int, list[int]] = {}
    for user_id, delta in deltas.items():
        by_delta.setdefault(delta, []).append(user_id)
    changes = [
        (delta, user_ids, F("count") + delta if delta > 0 else counter_less(-delta))
        for delta, user_ids in sorted(by_delta.items())
    ]
    if len(changes) == 1:
        count = changes[0][2]
    else:
        count = Case(
            *[When(user_id__in=user_ids, then=change) for _, user_ids, change in changes],
            output_field=IntegerField(),
        )
    UnreadCounter.objects.filter(user_id__in=deltas).update(count=count)
    return sorted(deltas)


def lock_in_user_order(rows) -> None:
    """Lock the rows by user id, the order in which the posting action takes them."""
    list(rows.select_for_update().order_by("user_id").values_list("pk", flat=True))


def repair_participants(*, keys: list[int]) -> None:
    """Set these participants' unread counts to a recount of their conversations."""
    with transaction.atomic():
        # Lock first, recount in a later statement: a post that comes meanwhile waits for
        # these rows and adds its message on top of the recount, and one that committed
        # before is in it.
        lock_in_user_order(Participant.objects.filter(pk__in=keys))
        Participant.objects.filter(pk__in=keys).update(unread_count=recounted_unread())


def repair_counters(*, user_ids: list[int]) -> None:
    """Set these users' badge counters to the sum of their participant rows, creating the
    ones that are missing."""
    present = UnreadCounter.objects.filter(user_id__in=user_ids).values_list("user_id", flat=True)
    missing = sorted(set(user_ids) - set(present))
    # Committed before the recount: a post or a read changes only a counter it can see, so
    # one created in the recount's own transaction would miss the changes made meanwhile.
    UnreadCounter.objects.bulk_create(
        [UnreadCounter(user_id=user_id) for user_id in missing], ignore_conflicts=True
    )
    with transaction.atomic():
        if missing:
            # A post or read that found no counter to change may not have committed yet;
            # it holds these users' participant rows, which posts lock before counters.
            lock_in_user_order(Participant.objects.filter(user_id__in=missing))
        # As above: the counters in the order posts take them, then the sum.
        lock_in_user_order(UnreadCounter.objects.filter(user_id__in=user_ids))
        UnreadCounter.objects.filter(user_id__in=user_ids).update(count=recounted_total())
