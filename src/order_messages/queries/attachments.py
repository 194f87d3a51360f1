"""The files of messages, read in one query for a whole page."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Sequence

from django.db.models import QuerySet

from ..models import Attachment, Message
from ..policy import Actor

# An id a database row can have (ASCII digits, within a 64-bit integer).
ID = re.compile(r"[1-9][0-9]{0,17}")


def with_files(messages: Sequence[Message], *, any_files: bool = True) -> Sequence[Message]:
    """Give each message its ``files`` (oldest first), for all of them in one query; none
    at all when the caller knows there are none (a conversation's ``attachment_count``)."""
    by_message = defaultdict(list)
    if any_files and messages:
        for attachment in Attachment.objects.filter(message__in=[m.pk for m in messages]):
            by_message[attachment.message_id].append(attachment)
    for message in messages:
        message.files = by_message.get(message.pk, [])
    return messages


def pending(*, order_number: str, vendor_key: str, actor: Actor) -> QuerySet[Attachment]:
    """The uploads this person made for this conversation that no message carries yet:
    an account's own, or for a guest, the order's guest's."""
    found = Attachment.objects.filter(
        order_number=order_number,
        vendor_key=vendor_key,
        message__isnull=True,
        discarded_at__isnull=True,
    )
    if actor.user is None:
        return found.filter(by_guest=True)
    return found.filter(uploaded_by=actor.user)


def pending_uploads(
    *, order_number: str, vendor_key: str, actor: Actor, ids: Iterable
) -> list[Attachment]:
    """Of these uploads, those this person made here that no message carries yet."""
    wanted = [int(i) for i in ids if ID.fullmatch(str(i))]
    if not wanted:
        return []
    found = pending(order_number=order_number, vendor_key=vendor_key, actor=actor)
    return list(found.filter(pk__in=wanted).order_by("pk"))
