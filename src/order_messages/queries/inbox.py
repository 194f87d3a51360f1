"""The customer's Messages tab (S4)."""

from __future__ import annotations

from dataclasses import dataclass, field

from .. import policy
from ..adapter import get_adapter
from ..conf import app_settings
from ..models import Participant
from .cursors import after, decode_cursor, encode_cursor


@dataclass
class InboxPage:
    rows: list[Participant]
    next_cursor: str | None = None
    # Orders of rows left out because the store no longer lets the user read them: their
    # participants are out of date (``actions.update_order_access`` moves them).
    stale_orders: list[str] = field(default_factory=list)


def inbox_page(*, user, cursor: str | None = None, size: int | None = None) -> InboxPage:
    """A page of the user's conversations: unread first, then by newest activity.

    Keyset pagination over two index ranges (unread, then read), so page 1,000 costs what
    page 1 costs: at most two row queries.
    """
    size = size or app_settings.INBOX_PAGE_SIZE
    position = decode_cursor(cursor, "ur")
    base = (
        Participant.objects.filter(user=user)
        .select_related("conversation", "conversation__open_dispute")
        .order_by("-last_message_at", "-pk")
    )
    rows: list[tuple[str, Participant]] = []
    for segment in "ur":
        if position is not None and position[0] == "r" and segment == "u":
            continue  # the cursor is already past the unread segment
        part = base.filter(unread_count__gt=0) if segment == "u" else base.filter(unread_count=0)
        if position is not None and position[0] == segment:
            part = part.filter(after(position))
        rows.extend((segment, p) for p in part[: size + 1 - len(rows)])
        if len(rows) > size:
            break
    page = InboxPage(rows=[p for _, p in rows[:size]])
    if len(rows) > size:
        segment, last = rows[size - 1]
        page.next_cursor = encode_cursor(segment, last.last_message_at, last.pk)
    page.rows, page.stale_orders = readable(user=user, rows=page.rows)
    return page


def readable(*, user, rows: list[Participant]) -> tuple[list[Participant], list[str]]:
    """The rows whose conversations the policy lets the user read now (asking the store
    for the page's orders at once), and the order numbers of the others."""
    if not rows:
        return rows, []
    orders = get_adapter().get_orders({p.conversation.order_number for p in rows})
    kept, stale = [], set()
    for row in rows:
        conversation = row.conversation
        order = orders.get(conversation.order_number)
        if order is not None and policy.viewer_of_conversation(
            conversation=conversation, user=user, order=order
        ):
            kept.append(row)
        else:
            stale.add(conversation.order_number)
    return kept, sorted(stale)
