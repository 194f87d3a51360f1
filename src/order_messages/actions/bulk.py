"""Marking many conversations read or unread at once, from the back office (B1)."""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models import Exists, OuterRef, QuerySet

from ..models import Conversation, Participant
from ..queries import Scope, scoped_conversations
from .messages import mark_read, mark_unread

# "Mark all" works through at most this many conversations per call.
MARK_ALL_LIMIT = 500


def _chosen(
    *, scope: Scope, unread: bool, ids: Iterable[int] | None, show: str, search: str
) -> QuerySet[Conversation]:
    if ids is not None:
        # Ids outside the scope (another vendor's conversation) are ignored.
        return scope.conversations().filter(pk__in=list(ids))
    conversations = scoped_conversations(scope=scope, show=show, search=search)
    if not unread:  # only those with something unread can change
        conversations = conversations.filter(
            Exists(
                Participant.objects.filter(
                    conversation=OuterRef("pk"), user=scope.user, unread_count__gt=0
                )
            )
        )
    return conversations.order_by("-last_message_at")[:MARK_ALL_LIMIT]


def mark_conversations(
    *,
    scope: Scope,
    unread: bool,
    ids: Iterable[int] | None = None,
    show: str = "all",
    search: str = "",
) -> int:
    """Mark conversations of the back-office scope read (or ``unread``) for its user: those
    with the given ``ids``, or with ``ids=None`` all that the filter (``show``, ``search``)
    lists, newest activity first, at most MARK_ALL_LIMIT. Returns how many changed.

    Each conversation is marked in its own transaction by ``mark_read`` / ``mark_unread``,
    so a long list never holds many conversations' locks at once. Store staff who mark a
    conversation unread join it in the role the scope gives them there.
    """
    changed = 0
    for conversation in _chosen(scope=scope, unread=unread, ids=ids, show=show, search=search):
        if unread:
            changed += mark_unread(
                conversation=conversation, user=scope.user, role=scope.role_in(conversation)
            )
        else:
            changed += bool(mark_read(conversation=conversation, user=scope.user))
    return changed
