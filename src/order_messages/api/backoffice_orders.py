"""The back office's orders: those a vendor's staff sell into, or every order for the
store's staff, each with the conversations I may open about it (the Orders page)."""

from __future__ import annotations

from typing import Annotated

from ninja import Field, Query, Router, Schema

from .. import queries
from . import present
from .cursors import position_of
from .errors import documented
from .schemas import DisputeOut, OrderOut

router = Router(tags=["Back office"])


class OrderPartOut(Schema):
    """One conversation of the order that I may open, begun or not."""

    vendor_key: str = Field(description='"store" for the store\'s own items.')
    vendor_name: str
    items: int = Field(description="How many of this seller's items the order has.")
    started: bool = Field(description="False until the first message: posting starts it.")
    conversation_id: int | None
    unread: int = Field(description="Messages I have not read in it.")
    open_dispute: DisputeOut | None


class BackofficeOrderOut(OrderOut):
    conversations: list[OrderPartOut]


class BackofficeOrderPage(Schema):
    items: list[BackofficeOrderOut] = Field(description="The newest orders first.")
    next_cursor: str | None = Field(
        description="Pass as ``after`` for the next page; null on the last page."
    )


def _part(part) -> dict:
    started = part.conversation
    return {
        "vendor_key": part.sub_order.vendor_key,
        "vendor_name": part.sub_order.vendor_name,
        "items": sum(item.quantity for item in part.sub_order.items),
        "started": started is not None,
        "conversation_id": started.pk if started else None,
        "unread": part.unread,
        "open_dispute": present.dispute(started.open_dispute) if started else None,
    }


@router.get(
    "/orders",
    **documented({200: BackofficeOrderPage}, 401, 403, 422),
    operation_id="listBackofficeOrders",
    summary="Orders I answer for",
)
def list_orders(
    request,
    after: Annotated[
        str | None, Query(description="The next_cursor of the previous page.", max_length=100)
    ] = None,
):
    """A vendor's orders (those with their items), or every order for store staff, newest
    first as the store lists them, each with the conversations I may open about it and my
    unread count in each. Customers and staff without the ``manage_conversations``
    permission get 403."""
    scope = queries.access_backoffice(user=request.auth)
    # The store lists its orders by position, so the cursor is a page number ("p2").
    page = queries.backoffice_orders(scope=scope, page=position_of(after, letter="p") or 1)
    return {
        "items": [
            {
                "number": row.order.number,
                "status": row.order.status,
                "placed_at": row.order.placed_at,
                "total": row.order.total,
                "customer_name": row.order.customer_name,
                "customer_email": row.order.customer_email if row.sees_contacts else None,
                "conversations": [_part(part) for part in row.parts],
            }
            for row in page.rows
        ],
        "next_cursor": f"p{page.number + 1}" if page.has_next else None,
    }
