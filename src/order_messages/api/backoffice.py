"""The back office's list (B1) for vendors' staff and store staff."""

from __future__ import annotations

from typing import Annotated, Literal

from ninja import Field, Path, Query, Router, Schema

from .. import actions, queries
from ..actions.bulk import MARK_ALL_LIMIT
from . import present
from .cursors import check_cursor, position_of
from .errors import documented
from .schemas import BackofficePage

router = Router(tags=["Back office"])


@router.get(
    "/conversations",
    **documented({200: BackofficePage}, 401, 403, 422),
    operation_id="listBackofficeConversations",
    summary="Conversations I answer for",
)
def list_conversations(
    request,
    show: Annotated[
        Literal["all", "unread", "disputes", "awaiting"],
        Query(
            description="All, those with messages unread by me, those with an open dispute, "
            "or those awaiting a reply (the customer wrote last; the longest waiting first)."
        ),
    ] = "all",
    q: Annotated[
        str,
        Query(
            max_length=200,
            description="Search: order number, customer name, customer e-mail (where I may "
            "see it) or message text (every word, the last one as a prefix). Results come "
            "best match first; each item's match marks the words in a message.",
        ),
    ] = "",
    after: Annotated[
        str | None, Query(description="The next_cursor of the previous page.", max_length=100)
    ] = None,
    limit: Annotated[int, Query(ge=1, le=100, description="Conversations per page.")] = 20,
):
    """A vendor's conversations, or every conversation for store staff, escalated
    disputes first, then newest activity first (``awaiting``: the longest waiting first),
    keyset-paginated. Customers and staff without the ``manage_conversations``
    permission get 403."""
    scope = queries.access_backoffice(user=request.auth)
    _check_after(after, show=show, q=q)
    page = queries.backoffice_page(scope=scope, show=show, search=q, cursor=after, size=limit)
    return {
        "items": [_row(c, scope=scope) for c in page.rows],
        "next_cursor": page.next_cursor,
    }


def _check_after(after: str | None, *, show: str, q: str) -> None:
    """Refuse a cursor that the list asked for did not give: a search's are positions in
    its results, the others' keyset cursors (see queries.backoffice_page)."""
    if q.replace("\x00", "").strip():
        position_of(after, letter="s")
    else:
        check_cursor(after, segments="a" if show == "awaiting" else "ec")


def _row(row, *, scope) -> dict:
    data = present.backoffice_row(row, scope=scope)
    found = getattr(row, "search_match", None)
    data["match"] = found and {
        "seq": found.seq,
        "text": found.text,
        "highlights": [{"start": start, "end": end} for start, end in found.highlights],
    }
    return data


ConversationIdItem = Annotated[int, Field(ge=1, le=2**63 - 1)]
ConversationId = Annotated[
    int,
    # Within a database integer: a larger id cannot exist and would not fit a query.
    Path(ge=1, le=2**63 - 1, description="The conversation's id (a list item's id).", example=7),
]


class MarkIn(Schema):
    action: Literal["read", "unread"] = Field(
        description="read: every message becomes read for me; unread: the last message "
        "becomes unread for me (store staff reading along join the conversation)."
    )
    ids: list[ConversationIdItem] | None = Field(
        None,
        min_length=1,
        max_length=MARK_ALL_LIMIT,
        description="The conversations to mark (list items' ids); ids outside my scope are "
        "ignored. Null or absent: every conversation the filter (show, q) lists, newest "
        f"activity first, at most {MARK_ALL_LIMIT}, as the back office's Mark all.",
    )
    show: Literal["all", "unread", "disputes", "awaiting"] = Field(
        "all", description="Without ids: the filter, as for listBackofficeConversations."
    )
    q: str = Field("", max_length=200, description="Without ids: the search, as there.")


class MarkOut(Schema):
    changed: int = Field(description="How many conversations changed.")
    unread_total: int = Field(description="My unread messages in all conversations now.")


@router.post(
    "/conversations/mark",
    **documented({200: MarkOut}, 400, 401, 403, 413, 422),
    operation_id="markBackofficeConversations",
    summary="Mark conversations read or unread",
)
def mark_conversations(request, payload: MarkIn):
    """The back office's Mark as read / Mark as unread of the ticked conversations
    (``ids``), or Mark all of what a filter lists (no ``ids``). Each conversation is
    marked on its own; nothing to change is not an error. Customers and staff without the
    ``manage_conversations`` permission get 403."""
    scope = queries.access_backoffice(user=request.auth)
    changed = actions.mark_conversations(
        scope=scope,
        unread=payload.action == "unread",
        ids=payload.ids,
        show=payload.show,
        search=payload.q,
    )
    return {"changed": changed, "unread_total": queries.unread_total(request.auth)}


@router.post(
    "/conversations/{conversation_id}/unread",
    **documented({200: MarkOut}, 401, 403, 404, 422),
    operation_id="markBackofficeConversationUnread",
    summary="Mark one conversation unread",
)
def mark_conversation_unread(request, conversation_id: ConversationId):
    """Flag the conversation's last message unread for me, to come back to it (its
    ``markRead`` undone). One outside my scope is 404; one without messages, or with
    something unread already, does not change (``changed`` 0)."""
    scope = queries.access_backoffice(user=request.auth)
    conversation = queries.access_scope_conversation(scope=scope, conversation_id=conversation_id)
    changed = actions.mark_conversations(scope=scope, unread=True, ids=[conversation.pk])
    return {"changed": changed, "unread_total": queries.unread_total(request.auth)}
