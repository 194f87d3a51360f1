"""The queries' rows as the schemas' dicts."""

from __future__ import annotations

from django.urls import reverse

from ..disputes import reason_choices
from ..models import Attachment, Conversation, Dispute, Message, Participant
from ..queries import Scope, Tab, Viewer

# The API's URL namespace (NinjaAPI's urls_namespace), for links to its own operations.
NAMESPACE = "order_messages_api"


def dispute(row: Dispute | None) -> dict | None:
    if row is None:
        return None
    closed = row.status == Dispute.Status.CLOSED
    return {
        "id": row.pk,
        "status": row.status,
        "reason_code": row.reason_code,
        "reason_label": row.reason_label,
        "requested": row.requested,
        "reason": row.reason,
        "opened_at": row.opened_at,
        "opened_by_name": row.opened_by_name,
        "respond_by": row.respond_by,
        "responded_at": row.responded_at,
        "escalated_at": row.escalated_at,
        "closed_at": row.closed_at,
        "closed_by_name": row.closed_by_name if closed else None,
        "outcome": row.outcome or None,
        "resolution_note": row.resolution_note,
    }


def dispute_options() -> dict:
    """The choices a dispute offers, with their labels in the active language."""

    def choices(pairs):
        return [{"key": key, "label": str(label)} for key, label in pairs]

    return {
        "reasons": choices(reason_choices()),
        "requests": choices(Dispute.Request.choices),
        "outcomes": choices(Dispute.Outcome.choices),
    }


def conversation(row: Conversation, *, my_role: str, unread: int) -> dict:
    return {
        "id": row.pk,
        "order_number": row.order_number,
        "vendor_key": row.vendor_key,
        "vendor_name": row.vendor_name,
        "title": str(row.title),
        "customer_name": row.customer_name,
        "my_role": my_role,
        "unread": unread,
        "last_seq": row.last_seq,
        "last_message_at": row.last_message_at,
        "last_message_excerpt": row.last_message_excerpt,
        "open_dispute": dispute(row.open_dispute),
        "attachment_count": row.attachment_count,
        "escalated": row.escalated,
        "awaiting_since": row.awaiting_since,
    }


def inbox_row(participant: Participant) -> dict:
    return conversation(
        participant.conversation, my_role=participant.role, unread=participant.unread_count
    )


def backoffice_row(row: Conversation, *, scope: Scope) -> dict:
    data = conversation(row, my_role=scope.role_in(row), unread=row.my_unread or 0)
    data["customer_email"] = row.customer_email if scope.sees_contacts else None
    return data


def order(access: Viewer) -> dict:
    placed = access.order
    return {
        "number": placed.number,
        "status": placed.status,
        "placed_at": placed.placed_at,
        "total": placed.total,
        "customer_name": placed.customer_name,
        "customer_email": placed.customer_email if access.sees_order_contacts else None,
    }


def tab(row: Tab, *, access: Viewer) -> dict:
    sub_order = row.sub_order
    started = row.conversation
    return {
        "vendor_key": sub_order.vendor_key,
        "vendor_name": sub_order.vendor_name,
        "is_store": row.is_store,
        "started": started is not None,
        "conversation_id": started.pk if started else None,
        "my_role": access.role_in(sub_order),
        "may_handle_disputes": access.may_handle_disputes(sub_order),
        "may_open_dispute": access.may_open_dispute(sub_order, started),
        "unread": row.unread,
        "last_read_seq": row.last_read_seq,
        "last_seq": started.last_seq if started else 0,
        "last_message_at": started.last_message_at if started else None,
        "open_dispute": dispute(started.open_dispute) if started else None,
        "attachment_count": started.attachment_count if started else 0,
        "items": [
            {"name": i.name, "quantity": i.quantity, "price": i.price, "url": i.url}
            for i in sub_order.items
        ],
    }


def attachment(row: Attachment) -> dict:
    ids = {"attachment_id": row.pk}
    thumbnail = None
    if row.thumbnail:
        thumbnail = reverse(f"{NAMESPACE}:attachment_thumbnail", kwargs=ids)
    return {
        "id": row.pk,
        "name": row.name,
        "content_type": row.content_type,
        "size": row.size,
        "width": row.width,
        "height": row.height,
        "url": reverse(f"{NAMESPACE}:attachment_content", kwargs=ids),
        "thumbnail_url": thumbnail,
    }


def message(row: Message, *, user) -> dict:
    """A message with its ``files`` (set by the query or the action that gave it)."""
    return {
        "seq": row.seq,
        "kind": row.kind,
        "author_name": row.author_name,
        "author_role": row.author_role,
        "body": row.body,
        "created_at": row.created_at,
        "is_mine": row.author_id is not None and row.author_id == user.pk,
        "attachments": [attachment(f) for f in row.files],
    }
