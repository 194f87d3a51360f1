"""Reads, and the access checks that come before every read or action.

``access_*`` functions raise ``Http404`` when the user may not see the thing at all (so
its existence is not revealed) and ``PermissionDenied`` when they may see it but not do
the action. Actions trust what these return.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from django.core.exceptions import PermissionDenied
from django.db.models import OuterRef, Q, Subquery, Sum
from django.http import Http404

from .adapter import STORE, Order, SubOrder, get_adapter
from .conf import app_settings
from .models import Conversation, Message, Participant, Role, UnreadCounter
from .routing import conversation_targets


@dataclass(frozen=True)
class Actor:
    """Who does something: a user (None for a guest), the role they act in, their name."""

    user: object
    role: str
    name: str


@dataclass(frozen=True)
class OrderAccess:
    """What one person may see of one order's conversations."""

    order: Order
    user: object
    is_customer: bool
    vendor_keys: frozenset[str]
    can_manage: bool
    sub_orders: list[SubOrder]

    def sub_order(self, vendor_key: str) -> SubOrder:
        found = next((s for s in self.sub_orders if s.vendor_key == vendor_key), None)
        if found is None:
            raise Http404("No such conversation.")
        return found

    def role_in(self, sub_order: SubOrder) -> str:
        if sub_order.vendor_key in self.vendor_keys:
            return Role.VENDOR
        if self.is_customer:
            return Role.CUSTOMER
        return Role.STAFF

    def actor_in(self, sub_order: SubOrder) -> Actor:
        role = self.role_in(sub_order)
        if self.user is not None and self.user.is_authenticated:
            return Actor(self.user, role, get_adapter().get_display_name(self.user))
        return Actor(None, role, self.order.customer_name)

    def may_handle_disputes(self, sub_order: SubOrder) -> bool:
        """Customers and store staff open and close disputes; vendors do not (S7, S8, B2)."""
        return self.role_in(sub_order) in (Role.CUSTOMER, Role.STAFF)


def access_order(*, user, order_number: str, guest_orders: Collection[str] = ()) -> OrderAccess:
    """The conversations of an order this user may see, or Http404."""
    adapter = get_adapter()
    order = adapter.get_order(order_number)
    if order is None:
        raise Http404("No such order.")
    authenticated = user is not None and user.is_authenticated
    is_customer = (authenticated and order.customer_id == user.pk) or (order.number in guest_orders)
    vendor_keys = frozenset(adapter.get_user_vendor_keys(user)) if authenticated else frozenset()
    can_manage = authenticated and adapter.can_manage_conversations(user)
    targets = conversation_targets(order)
    if not (is_customer or can_manage):
        targets = [t for t in targets if t.vendor_key in vendor_keys]
    if not targets:
        raise Http404("No such order.")
    return OrderAccess(
        order=order,
        user=user if authenticated else None,
        is_customer=is_customer,
        vendor_keys=vendor_keys,
        can_manage=can_manage,
        sub_orders=targets,
    )


def check_may_handle_disputes(*, access: OrderAccess, sub_order: SubOrder) -> None:
    if not access.may_handle_disputes(sub_order):
        raise PermissionDenied("Only the customer and the store handle disputes.")


# -- one order's conversations --------------------------------------------------------------


@dataclass
class Tab:
    sub_order: SubOrder
    conversation: Conversation | None
    unread: int = 0
    last_read_seq: int = 0

    @property
    def vendor_key(self):
        return self.sub_order.vendor_key

    @property
    def is_store(self):
        return self.sub_order.vendor_key == STORE


def order_tabs(*, access: OrderAccess) -> list[Tab]:
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
        tabs.append(tab)
    return tabs


@dataclass
class ThreadPage:
    messages: list[Message]
    first: Message | None = None  # shown above the collapsed part
    hidden: int = 0  # messages collapsed between ``first`` and ``messages``
    first_unread_seq: int | None = None
    expand_from: int | None = None


def thread_page(*, conversation: Conversation, last_read_seq: int, start: int | None = None):
    """The part of a thread to show: the first message, "N earlier messages", then from the
    first unread (or the recent ones) to the end; at most THREAD_WINDOW + 1 rows unless more
    are unread or the reader asked for earlier ones (``start``)."""
    last = conversation.last_seq
    window = app_settings.THREAD_WINDOW
    first_unread = last_read_seq + 1 if last_read_seq < last else None
    if start is None:
        start = last - min(10, window) + 1
        if first_unread is not None:
            # Every unread message is shown: the page marks them all read (S3).
            start = min(start, first_unread)
    start = max(1, min(start, last))
    if start <= 2:
        start = 1
    rows = []
    if last:
        rows = list(
            Message.objects.filter(conversation=conversation)
            .filter(Q(seq__gte=start) | Q(seq=1))
            .order_by("seq")
        )
    page = ThreadPage(messages=rows, first_unread_seq=first_unread)
    if start > 1 and rows and rows[0].seq == 1:
        page.first = rows[0]
        page.messages = rows[1:]
        page.hidden = start - 2
        page.expand_from = max(2, start - window)
    return page


# -- counts ---------------------------------------------------------------------------------


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


# -- the inbox (S4) ---------------------------------------------------------------------------


@dataclass
class InboxPage:
    rows: list[Participant]
    next_cursor: str | None = None
    orders: dict[str, Order] = field(default_factory=dict)


EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _encode_cursor(unread: bool, row: Participant) -> str:
    micros = (row.last_message_at - EPOCH) // timedelta(microseconds=1)
    return f"{'u' if unread else 'r'}{micros}.{row.pk}"


def _decode_cursor(cursor: str | None):
    try:
        segment, rest = cursor[0], cursor[1:]
        micros, pk = rest.split(".")
        if segment not in "ur":
            raise ValueError
        ts = EPOCH + timedelta(microseconds=int(micros))
        return segment == "u", ts, int(pk)
    except (TypeError, ValueError, IndexError, OverflowError, OSError):
        return None


def inbox_page(*, user, cursor: str | None = None, size: int | None = None) -> InboxPage:
    """A page of the user's conversations: unread first, then by newest activity.

    Keyset pagination over two index ranges (unread, then read), so page 1,000 costs what
    page 1 costs: at most two row queries.
    """
    size = size or app_settings.INBOX_PAGE_SIZE
    position = _decode_cursor(cursor) if cursor else None
    base = (
        Participant.objects.filter(user=user)
        .select_related("conversation", "conversation__open_dispute")
        .order_by("-last_message_at", "-pk")
    )
    rows: list[tuple[bool, Participant]] = []
    for unread in (True, False):
        if position is not None and position[0] is False and unread:
            continue  # the cursor is already past the unread segment
        segment = base.filter(unread_count__gt=0) if unread else base.filter(unread_count=0)
        if position is not None and position[0] is unread:
            _, ts, pk = position
            segment = segment.filter(Q(last_message_at__lt=ts) | Q(last_message_at=ts, pk__lt=pk))
        wanted = size + 1 - len(rows)
        rows.extend((unread, p) for p in segment[:wanted])
        if len(rows) > size:
            break
    page = InboxPage(rows=[p for _, p in rows[:size]])
    if len(rows) > size:
        page.next_cursor = _encode_cursor(*rows[size - 1])
    return page
