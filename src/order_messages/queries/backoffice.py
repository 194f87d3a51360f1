"""What vendors' staff and store staff see of all conversations (B1)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.db.models import Exists, OuterRef, Q, QuerySet, Subquery

from ..conf import app_settings
from ..models import Conversation, Message, Participant
from ..policy import Scope
from .cursors import after, decode_cursor, encode_cursor

FILTERS = ("all", "unread", "disputes")


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
    """A page of conversations, newest activity first, keyset-paginated: one row query."""
    size = size or app_settings.INBOX_PAGE_SIZE
    conversations = (
        scoped_conversations(scope=scope, show=show, search=search)
        .select_related("open_dispute")
        .order_by("-last_message_at", "-pk")
    )
    position = decode_cursor(cursor, "c")
    if position is not None:
        conversations = conversations.filter(after(position))
    rows = list(conversations[: size + 1])
    page = BackofficePage(rows=rows[:size])
    if len(rows) > size:
        last = rows[size - 1]
        page.next_cursor = encode_cursor("c", last.last_message_at, last.pk)
    return page
