"""What vendors' staff and store staff see of all conversations (B1)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.core.exceptions import PermissionDenied
from django.db.models import Exists, OuterRef, Q, QuerySet, Subquery
from django.utils.translation import gettext

from ..adapter import get_adapter
from ..conf import app_settings
from ..models import Conversation, Message, Participant
from ..routing import vendors_take_part
from .cursors import after, decode_cursor, encode_cursor

FILTERS = ("all", "unread", "disputes")


@dataclass(frozen=True)
class Scope:
    """The conversations one person answers for: a vendor's, or all of them for the store."""

    user: object
    vendor_keys: frozenset[str]
    is_store: bool

    def conversations(self) -> QuerySet[Conversation]:
        if self.is_store:
            return Conversation.objects.all()
        if not vendors_take_part():  # left over from a mode where vendors took part
            return Conversation.objects.none()
        return Conversation.objects.filter(vendor_key__in=self.vendor_keys)

    @property
    def sees_contacts(self) -> bool:
        return self.is_store or not app_settings.MASK_CONTACTS


def access_backoffice(*, user) -> Scope:
    """The back-office scope of a logged-in user, or PermissionDenied for customers and for
    staff without ``manage_conversations``."""
    adapter = get_adapter()
    is_store = adapter.can_manage_conversations(user)
    vendor_keys = frozenset(adapter.get_user_vendor_keys(user))
    if not (is_store or vendor_keys):
        raise PermissionDenied(gettext("Only vendors and store staff have a back office."))
    return Scope(user=user, vendor_keys=vendor_keys, is_store=is_store)


def in_backoffice(user) -> bool:
    """True for users whose Messages page is the back office."""
    adapter = get_adapter()
    return adapter.can_manage_conversations(user) or bool(adapter.get_user_vendor_keys(user))


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
