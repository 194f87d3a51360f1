"""What vendors' staff and store staff see of all conversations (B1)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.db.models import Exists, OuterRef, Q, QuerySet, Subquery

from ..conf import app_settings
from ..models import Conversation, Message, Participant
from ..policy import Scope
from .cursors import after, decode_cursor, encode_cursor

# "awaiting": the customer had the last word and waits for the seller's answer.
FILTERS = ("all", "unread", "awaiting", "disputes")


@dataclass
class BackofficePage:
    rows: list[Conversation]
    next_cursor: str | None = None


def search_filter(*, scope: Scope, text: str) -> Q:
    """Order number, customer name, customer e-mail (where the scope may see it), message text."""
    # PostgreSQL text cannot hold NUL; no stored text contains one anyway.
    text = text.replace("\x00", "").strip()
    number = re.sub(r"^#", "", text)
    found = (
        Q(order_number__iexact=number)
        | Q(customer_name__icontains=text)
        | Exists(Message.objects.filter(conversation=OuterRef("pk"), body__icontains=text))
    )
    if scope.sees_contacts:
        found |= Q(customer_email__icontains=text)
    return found


def scoped_conversations(*, scope: Scope, show: str = "all", search: str = "") -> QuerySet:
    """The scope's conversations with this user's unread count, filtered."""
    mine = Participant.objects.filter(conversation=OuterRef("pk"), user=scope.user)
    conversations = scope.conversations().annotate(
        my_unread=Subquery(mine.values("unread_count")[:1])
    )
    if show == "unread":
        conversations = conversations.filter(Exists(mine.filter(unread_count__gt=0)))
    elif show == "disputes":
        conversations = conversations.filter(open_dispute__isnull=False)
    elif show == "awaiting":
        conversations = conversations.filter(awaiting_since__isnull=False)
    search = search.replace("\x00", "")
    if search.strip():
        conversations = conversations.filter(search_filter(scope=scope, text=search))
    return conversations


def backoffice_page(
    *,
    scope: Scope,
    show: str = "all",
    search: str = "",
    cursor: str | None = None,
    size: int | None = None,
) -> BackofficePage:
    """A page of conversations, keyset-paginated, in one row query: escalated disputes
    first, then newest activity first; "awaiting" lists the longest waiting first."""
    size = size or app_settings.INBOX_PAGE_SIZE
    conversations = scoped_conversations(scope=scope, show=show, search=search).select_related(
        "open_dispute"
    )
    if show == "awaiting":
        return _awaiting_page(conversations, cursor=cursor, size=size)
    # The order of the indexes om_conv_activity and om_conv_vendor_activity.
    conversations = conversations.order_by("-escalated", "-last_message_at", "-pk")
    position = decode_cursor(cursor, "ec")
    if position is not None and position[0] == "e":
        # Still among the escalated: the rest of them, then all the others.
        conversations = conversations.filter(
            (Q(escalated=True) & after(position)) | Q(escalated=False)
        )
    elif position is not None:
        conversations = conversations.filter(Q(escalated=False) & after(position))
    rows = list(conversations[: size + 1])
    page = BackofficePage(rows=rows[:size])
    if len(rows) > size:
        last = rows[size - 1]
        segment = "e" if last.escalated else "c"
        page.next_cursor = encode_cursor(segment, last.last_message_at, last.pk)
    return page


def _awaiting_page(conversations: QuerySet, *, cursor: str | None, size: int) -> BackofficePage:
    """The customers waiting for an answer, the longest waiting first (om_conv_awaiting)."""
    conversations = conversations.order_by("awaiting_since", "pk")
    position = decode_cursor(cursor, "a")
    if position is not None:
        conversations = conversations.filter(after(position, "awaiting_since", ascending=True))
    rows = list(conversations[: size + 1])
    page = BackofficePage(rows=rows[:size])
    if len(rows) > size:
        last = rows[size - 1]
        page.next_cursor = encode_cursor("a", last.awaiting_since, last.pk)
    return page
