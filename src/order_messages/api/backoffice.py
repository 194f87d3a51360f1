"""The back office's list (B1) for vendors' staff and store staff."""

from __future__ import annotations

from typing import Annotated, Literal

from ninja import Query, Router

from .. import queries
from . import present
from .schemas import BackofficePage, Error

router = Router(tags=["Back office"])


@router.get(
    "/conversations",
    response={200: BackofficePage, 401: Error, 403: Error, 422: Error},
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
    page = queries.backoffice_page(scope=scope, show=show, search=q, cursor=after, size=limit)
    return {
        "items": [_row(c, scope=scope) for c in page.rows],
        "next_cursor": page.next_cursor,
    }


def _row(row, *, scope) -> dict:
    data = present.backoffice_row(row, scope=scope)
    found = getattr(row, "search_match", None)
    data["match"] = found and {
        "seq": found.seq,
        "text": found.text,
        "highlights": [{"start": start, "end": end} for start, end in found.highlights],
    }
    return data
