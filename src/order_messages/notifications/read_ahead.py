"""What a worker's claimed e-mails read, read for many of them at once.

Each e-mail needs its recipient's preferences, mutes and read state, the messages it tells
of and the Message-IDs of the earlier e-mails of its thread. Read one e-mail at a time that
is some ten queries per e-mail; ``read_ahead`` reads them for up to a claimed batch in a
fixed number of queries and leaves them on the rows, where ``email.prepare`` finds them.
Who may still read the conversation is not read ahead: the access policy is asked for
every e-mail with the store's order and the recipient's vendors as they are when it is
written.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Sequence

from django.db.models import Count, F, Q, Window
from django.db.models.functions import RowNumber

from ..models import Dispute, Message, Participant
from ..models.notifications import Mute, Notification, NotificationSettings
from ..queries.attachments import with_files
from . import email

# Rows read ahead at once, and how long what was read counts as the present: behind a slow
# mail server the later e-mails of a batch are read again rather than decided on a state
# (an order, a mute, a read conversation) older than this.
ROWS = 100
MAX_AGE_SECONDS = 5.0
# What read_ahead leaves on a row.
READ_AHEAD = (
    "_preferences",
    "_muted",
    "_read_up_to",
    "_in_range",
    "_earlier",
    "_reminded",
    "_read_at",
)


def is_fresh(notification: Notification) -> bool:
    read_at = getattr(notification, "_read_at", None)
    return read_at is not None and time.monotonic() - read_at < MAX_AGE_SECONDS


def read_ahead(notifications: Sequence[Notification]) -> None:
    """Read what ``email.prepare`` and ``email.prepare_digest`` need for all of these rows,
    in a fixed number of queries, and leave it on them."""
    if not notifications:
        return
    read_at = time.monotonic()
    preferences = _preferences(notifications)
    muted = _muted(notifications)
    read_up_to = _read_up_to(notifications)
    in_range = _in_range(notifications)
    earlier = _earlier_message_ids(notifications)
    reminded = _reminded_disputes(notifications)
    # Left on the rows only once everything was read: a failed read leaves them as they were.
    for n in notifications:
        n._preferences = preferences.get(n.user_id)
        n._muted = (n.conversation_id, n.email) in muted
        n._read_up_to = read_up_to.get((n.conversation_id, n.user_id))
        n._in_range = in_range[n.pk]
        n._earlier = earlier[(n.conversation_id, n.email)]
        n._reminded = reminded.get(n.conversation_id)
        n._read_at = read_at


def record_sent(notification: Notification) -> None:
    """A thread's e-mail just went out: the later e-mails of the thread in the same batch
    name it in their References, as they would had they read the thread after it."""
    earlier = getattr(notification, "_earlier", None)
    if earlier is not None and not notification.digest:
        earlier.insert(0, notification.message_id)


def _preferences(notifications: Sequence[Notification]) -> dict[int, NotificationSettings]:
    """The recipients' e-mail preferences, by user id."""
    user_ids = {n.user_id for n in notifications if n.user_id is not None}
    if not user_ids:
        return {}
    return {p.user_id: p for p in NotificationSettings.objects.filter(user_id__in=user_ids)}


def forget(notifications: Sequence[Notification]) -> None:
    """Take what was read ahead off the rows: each e-mail then reads what it needs itself."""
    for n in notifications:
        for name in READ_AHEAD:
            n.__dict__.pop(name, None)


def _muted(notifications: Sequence[Notification]) -> set[tuple[int, str]]:
    """The (conversation, address) pairs that are muted. Few conversations have mutes:
    only for those the pairs are matched, each as one e-mail's check matches it (without
    regard to case, by the database's rules), with one count per pair."""
    conversation_ids = {n.conversation_id for n in notifications}
    with_mutes = set(
        Mute.objects.filter(conversation_id__in=conversation_ids).values_list(
            "conversation_id", flat=True
        )
    )
    pairs = list(
        {(n.conversation_id, n.email) for n in notifications if n.conversation_id in with_mutes}
    )
    if not pairs:
        return set()
    counts = Mute.objects.filter(conversation_id__in=with_mutes).aggregate(
        **{
            f"pair{i}": Count("pk", filter=Q(conversation_id=c, email__iexact=e))
            for i, (c, e) in enumerate(pairs)
        }
    )
    return {pair for i, pair in enumerate(pairs) if counts[f"pair{i}"]}


def _read_up_to(notifications: Sequence[Notification]) -> dict[tuple[int, int], int | None]:
    accounts = [n for n in notifications if n.user_id is not None]
    if not accounts:
        return {}
    return {
        (c, u): seq
        for c, u, seq in Participant.objects.filter(
            conversation_id__in={n.conversation_id for n in accounts},
            user_id__in={n.user_id for n in accounts},
        ).values_list("conversation_id", "user_id", "last_read_seq")
    }


def _in_range(notifications: Sequence[Notification]) -> dict[int, list[Message]]:
    """For each row, the messages or dispute events of its seq range (``email.in_range``),
    with their files. Read through the rows themselves, so a message two rows tell of comes
    once for each: each e-mail gives its messages links made for its own recipient."""
    found: dict[int, list[Message]] = defaultdict(list)
    wanted = {n.pk: n for n in notifications if n.kind != Notification.Kind.DISPUTE_REMINDER}
    if not wanted:
        return found
    told = "conversation__notifications"
    rows = list(
        Message.objects.filter(
            **{
                f"{told}__pk__in": list(wanted),
                "kind__in": [Message.Kind.MESSAGE, *Message.DISPUTE_KINDS],
                "seq__gte": F(f"{told}__first_seq"),
                "seq__lte": F(f"{told}__last_seq"),
            }
        )
        .annotate(told_by=F(f"{told}__pk"))
        .select_related("dispute")
        .order_by("seq", "told_by")
    )
    rows = [
        m
        for m in rows
        if m.kind in email.kinds_told(wanted[m.told_by])
        and wanted[m.told_by].first_seq <= m.seq <= wanted[m.told_by].last_seq
    ]
    with_files(rows, any_files=any(n.conversation.attachment_count for n in wanted.values()))
    for message in rows:
        found[message.told_by].append(message)
    return found


def _earlier_message_ids(notifications: Sequence[Notification]) -> dict[tuple, list[str]]:
    """For each (conversation, address), the Message-IDs of its sent e-mails, newest first,
    as many as References names (``email.thread_headers``). The rows of one thread share
    its list, so that ``record_sent`` adds an e-mail for all of them."""
    found: dict[tuple, list[str]] = {(n.conversation_id, n.email): [] for n in notifications}
    newest = (
        Notification.objects.filter(
            conversation_id__in={n.conversation_id for n in notifications},
            status=Notification.Status.SENT,
            digest=False,
        )
        .exclude(pk__in=[n.pk for n in notifications])
        .annotate(
            rank=Window(
                RowNumber(),
                partition_by=[F("conversation_id"), F("email")],
                order_by=F("sent_at").desc(),
            )
        )
        .filter(rank__lte=email.REFERENCES_KEPT)
        .values_list("conversation_id", "email", "message_id", "rank")
    )
    for conversation_id, address, message_id, _rank in sorted(newest, key=lambda row: row[3]):
        if (conversation_id, address) in found:
            found[(conversation_id, address)].append(message_id)
    return found


def _reminded_disputes(notifications: Sequence[Notification]) -> dict[int, Dispute]:
    """For the conversations of dispute reminders, the dispute ``email.reminded_dispute``
    would find."""
    conversation_ids = {
        n.conversation_id for n in notifications if n.kind == Notification.Kind.DISPUTE_REMINDER
    }
    found: dict[int, Dispute] = {}
    if conversation_ids:
        for dispute in email.reminded_disputes().filter(conversation_id__in=conversation_ids):
            found.setdefault(dispute.conversation_id, dispute)
    return found
