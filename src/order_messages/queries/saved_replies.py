"""Saved replies: the ones a person may insert into the composer, and
their text filled in for one conversation.

Who changes which reply is the policy's to say (``policy.access_saved_reply``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.db.models import Case, Q, QuerySet, Value, When

from ..adapter import Order, SubOrder
from ..models import SavedReply
from ..policy import Scope, may_edit_saved_reply

#: What ``{…}`` a reply may hold, and what each becomes in a conversation. Anything else in
#: braces stays as typed, so a reply may quote "{like this}" without surprise.
PLACEHOLDERS = {
    "customer_name": lambda order, sub_order: order.customer_name,
    "order_number": lambda order, sub_order: order.number,
    "vendor_name": lambda order, sub_order: sub_order.vendor_name,
}
PLACEHOLDER = re.compile(r"\{(\w+)\}")


def usable_replies(*, user) -> QuerySet[SavedReply]:
    """The replies this person may insert: their own by title, then the shared ones by
    title. One query when evaluated."""
    return (
        SavedReply.objects.filter(Q(owner=user) | Q(shared=True))
        .annotate(mine=Case(When(owner=user, then=Value(0)), default=Value(1)))
        .order_by("mine", "title", "pk")
    )


def fill_placeholders(text: str, *, order: Order, sub_order: SubOrder) -> str:
    """The reply's text for one conversation: ``{customer_name}``, ``{order_number}`` and
    ``{vendor_name}`` filled in, any other ``{…}`` left as typed. Plain text: whoever shows
    it escapes it."""

    def fill(match):
        found = PLACEHOLDERS.get(match.group(1))
        return match.group(0) if found is None else (found(order, sub_order) or "")

    return PLACEHOLDER.sub(fill, text)


@dataclass(frozen=True)
class MenuItem:
    """A reply in the composer's menu, its text ready for this conversation."""

    id: int
    title: str
    text: str
    shared: bool


def reply_menu(*, user, order: Order, sub_order: SubOrder) -> list[MenuItem]:
    """The composer's menu of saved replies for one conversation (one query)."""
    return [
        MenuItem(
            id=reply.pk,
            title=reply.title,
            text=fill_placeholders(reply.body, order=order, sub_order=sub_order),
            shared=reply.shared,
        )
        for reply in usable_replies(user=user)
    ]


@dataclass(frozen=True)
class ReplyRow:
    reply: SavedReply
    editable: bool


@dataclass(frozen=True)
class SavedRepliesPage:
    """The saved-replies page: the person's own replies, then the others' shared ones."""

    own: list[ReplyRow]
    shared: list[ReplyRow]


def saved_replies_page(*, scope: Scope) -> SavedRepliesPage:
    rows = [ReplyRow(r, may_edit_saved_reply(scope, r)) for r in usable_replies(user=scope.user)]
    return SavedRepliesPage(
        own=[row for row in rows if row.reply.owner_id == scope.user.pk],
        shared=[row for row in rows if row.reply.owner_id != scope.user.pk],
    )
