"""The files of messages, read in one query for a whole page."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Sequence

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


def pending_uploads(
    *, order_number: str, vendor_key: str, actor: Actor, ids: Iterable
) -> list[Attachment]:
    """Of these uploads, those this person made here that no message carries yet."""
    wanted = [int(i) for i in ids if ID.fullmatch(str(i))]
    if not wanted:
        return []
    found = Attachment.objects.filter(
        pk__in=wanted,
        order_number=order_number,
        vendor_key=vendor_key,
        message__isnull=True,
        discarded_at__isnull=True,
    )
    if actor.user is None:
        found = found.filter(by_guest=True)
    else:
        found = found.filter(uploaded_by=actor.user)
    return list(found.order_by("pk"))
