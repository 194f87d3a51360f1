"""The back office's orders: those a vendor's staff sell into, or every order for the
store's staff, each with the conversations this person may open about it."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db.models import OuterRef, Subquery

from ..adapter import Order, SubOrder, get_adapter
from ..models import Conversation, Participant
from ..policy import Scope, viewer_of_order
from ..routing import vendors_take_part

ORDERS_PAGE_SIZE = 20


@dataclass
class OrderPart:
    """One conversation of an order as this person may open it: the seller's part of the
    order (its items), and the conversation once it has begun."""

    sub_order: SubOrder
    conversation: Conversation | None = None
    unread: int = 0


@dataclass
class OrderRow:
    order: Order
    parts: list[OrderPart] = field(default_factory=list)
    sees_contacts: bool = False


# Far beyond any store's orders, and an OFFSET every database takes.
MAX_PAGE = 1_000_000


@dataclass
class OrdersPage:
    rows: list[OrderRow]
    number: int = 1
    has_next: bool = False


def backoffice_orders(*, scope: Scope, page: int = 1) -> OrdersPage:
    """A page of the scope's orders, newest first (the store says which: ``list_orders``).
    Each lists only the parts the policy lets this person read, so a vendor sees their own
    items and conversation of an order shared with other sellers, and nothing of theirs."""
    page = min(max(1, page), MAX_PAGE)  # an offset the database can take
    if not scope.is_store and not vendors_take_part():
        return OrdersPage(rows=[], number=page)  # only the store talks to customers
    found = get_adapter().list_orders(
        vendor_keys=None if scope.is_store else scope.vendor_keys,
        offset=(page - 1) * ORDERS_PAGE_SIZE,
        limit=ORDERS_PAGE_SIZE + 1,
    )
    rows = []
    for order in found[:ORDERS_PAGE_SIZE]:
        viewer = viewer_of_order(order=order, user=scope.user)
        if viewer is None:
            continue
        rows.append(
            OrderRow(
                order=order,
                parts=[OrderPart(sub_order=s) for s in viewer.sub_orders],
                sees_contacts=any(viewer.shows_customer_contact(s) for s in viewer.sub_orders),
            )
        )
    _add_conversations(rows, user=scope.user)
    return OrdersPage(rows=rows, number=page, has_next=len(found) > ORDERS_PAGE_SIZE)


def _add_conversations(rows: list[OrderRow], *, user) -> None:
    """The begun conversations of the page's orders with this person's unread counts: one
    query for the page."""
    numbers = [row.order.number for row in rows]
    if not numbers:
        return
    mine = Participant.objects.filter(conversation=OuterRef("pk"), user=user)
    found = (
        Conversation.objects.filter(order_number__in=numbers)
        .select_related("open_dispute")
        .annotate(my_unread=Subquery(mine.values("unread_count")[:1]))
    )
    by_key = {(c.order_number, c.vendor_key): c for c in found}
    for row in rows:
        for part in row.parts:
            part.conversation = by_key.get((row.order.number, part.sub_order.vendor_key))
            if part.conversation is not None:
                part.unread = part.conversation.my_unread or 0
