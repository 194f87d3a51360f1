"""One order's conversations (the tabs) and the visible part of one thread."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import OuterRef, Q, Subquery

from ..adapter import STORE, SubOrder
from ..conf import app_settings
from ..models import Conversation, Dispute, Message, Participant
from ..policy import Viewer
from .attachments import with_files


@dataclass
class Tab:
    sub_order: SubOrder
    conversation: Conversation | None
    unread: int = 0
    last_read_seq: int = 0
    is_participant: bool = False

    @property
    def vendor_key(self):
        return self.sub_order.vendor_key

    @property
    def is_store(self):
        return self.sub_order.vendor_key == STORE


def customer_left_out(*, access: Viewer, tabs: list[Tab]) -> bool:
    """Whether the order's customer is missing from one of its conversations: the store
    gave them the order without telling the app (``actions.update_order_access``)."""
    return (
        access.is_customer
        and access.user is not None
        and any(t.conversation is not None and not t.is_participant for t in tabs)
    )


def order_tabs(*, access: Viewer) -> list[Tab]:
    """One tab per visible conversation of the order, with this user's unread counts."""
    keys = [s.vendor_key for s in access.sub_orders]
    conversations = Conversation.objects.filter(
        order_number=access.order.number, vendor_key__in=keys
    ).select_related("open_dispute")
    if access.user is not None:
        mine = Participant.objects.filter(conversation=OuterRef("pk"), user=access.user)
        conversations = conversations.annotate(
            my_unread=Subquery(mine.values("unread_count")[:1]),
            my_last_read=Subquery(mine.values("last_read_seq")[:1]),
        )
    by_key = {c.vendor_key: c for c in conversations}
    tabs = []
    for sub_order in access.sub_orders:
        conversation = by_key.get(sub_order.vendor_key)
        tab = Tab(sub_order=sub_order, conversation=conversation)
        if conversation is not None:
            tab.unread = getattr(conversation, "my_unread", None) or 0
            my_last_read = getattr(conversation, "my_last_read", None)
            # Someone who is not a participant (staff reading along) has nothing unread.
            tab.last_read_seq = conversation.last_seq if my_last_read is None else my_last_read
            tab.is_participant = my_last_read is not None
        tabs.append(tab)
    return tabs


@dataclass
class ThreadPage:
    messages: list[Message]
    first: Message | None = None  # shown above the collapsed part
    hidden: int = 0  # messages collapsed between ``first`` and ``messages``
    first_unread_seq: int | None = None
    expand_from: int | None = None
    newer: int = 0  # messages after those shown ("N newer messages")

    @property
    def last_shown_seq(self) -> int:
        """The newest message on the page: reading the page reads up to it."""
        if self.messages:
            return self.messages[-1].seq
        return self.first.seq if self.first else 0


def thread_page(*, conversation: Conversation, last_read_seq: int, start: int | None = None):
    """The part of a thread to show: the first message, "N earlier messages", then from the
    first unread (or the recent ones), or from ``start``, THREAD_WINDOW messages at most
    (one more rather than "1 earlier message"), and "N newer messages" when more follow.
    Reads only the rows it shows, however long the thread and however much of it is
    unread."""
    last = conversation.last_seq
    window = app_settings.THREAD_WINDOW
    first_unread = last_read_seq + 1 if last_read_seq < last else None
    if start is None:
        start = last - min(10, window) + 1
        if first_unread is not None:
            # From the first unread (S3): the page marks read the ones it shows.
            start = min(start, first_unread)
    start = max(1, min(start, last))
    end = min(last, start + window - 1)
    if start <= 2:
        start = 1  # one message is shown rather than "1 earlier message"
    rows = []
    if last:
        rows = list(
            Message.objects.filter(conversation=conversation)
            .filter(Q(seq__gte=start, seq__lte=end) | Q(seq=1))
            .select_related("dispute")
            .order_by("seq")
        )
    with_files(rows, any_files=conversation.attachment_count > 0)
    page = ThreadPage(messages=rows, first_unread_seq=first_unread, newer=last - end)
    if start > 1 and rows and rows[0].seq == 1:
        page.first = rows[0]
        page.messages = rows[1:]
        page.hidden = start - 2
        page.expand_from = max(2, start - window)
    return page


def messages_between(*, conversation: Conversation, low: int, high: int) -> list[Message]:
    """The messages from seq ``low`` to ``high``, both included, in order: one index range
    (conversation, seq) that reads only the rows it returns."""
    if low > high:
        return []
    rows = list(
        Message.objects.filter(conversation=conversation, seq__gte=low, seq__lte=high)
        .select_related("dispute")
        .order_by("seq")
    )
    with_files(rows, any_files=conversation.attachment_count > 0)
    return rows


def dispute_history(*, conversation: Conversation | None) -> list[Dispute]:
    """Every dispute of the conversation, newest first; no query for one that never had
    any (``dispute_count``)."""
    if conversation is None or not conversation.dispute_count:
        return []
    return list(Dispute.objects.filter(conversation=conversation).order_by("-opened_at", "-pk"))
