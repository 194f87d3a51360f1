from __future__ import annotations

from django.db import transaction

from ..adapter import STORE, Order, SubOrder, get_adapter
from ..models import Conversation, Participant, Role, UnreadCounter
from ..routing import answerers, conversation_targets


def ensure_conversation(*, order: Order, sub_order: SubOrder) -> Conversation:
    """The conversation of this sub-order, created with its participants on first use (C4).

    Must run inside the caller's transaction.
    """
    conversation, created = Conversation.objects.get_or_create(
        order_number=order.number,
        vendor_key=sub_order.vendor_key,
        defaults={
            "vendor_name": sub_order.vendor_name,
            "order_is_split": len(conversation_targets(order)) > 1,
            "customer_id": order.customer_id,
            "customer_email": order.customer_email,
            "customer_name": order.customer_name,
        },
    )
    if created:
        staff, role = answerers(sub_order.vendor_key)
        members = [(user.pk, role) for user in staff]
        if order.customer_id is not None:
            members.append((order.customer_id, Role.CUSTOMER))
        add_participants(conversation=conversation, members=members)
    return conversation


def add_participants(*, conversation: Conversation, members: list[tuple[int, str]]) -> None:
    """Add users who are not yet in the conversation. They start with nothing unread."""
    if not members:
        return
    assert transaction.get_connection().in_atomic_block
    Participant.objects.bulk_create(
        [
            Participant(
                conversation=conversation,
                user_id=user_id,
                role=role,
                last_read_seq=conversation.last_seq,
                last_message_at=conversation.last_message_at,
            )
            for user_id, role in members
        ],
        ignore_conflicts=True,
    )
    UnreadCounter.objects.bulk_create(
        [UnreadCounter(user_id=user_id) for user_id, _ in members], ignore_conflicts=True
    )


def remove_departed(
    *, conversation: Conversation, participants: list[tuple[int, int]], author_id: int | None
) -> dict[int, int]:
    """Take out of the conversation those the host store no longer lets read it (a vendor's
    former staff, staff who lost ``manage_conversations``), so that they hear nothing more
    of it. ``participants`` are (user id, unread count) with their rows locked. Returns the
    unread counts of those removed: their counters are the caller's to lower."""
    others = {user_id for user_id, _ in participants} - {author_id, conversation.customer_id}
    if others:
        staff, _role = answerers(conversation.vendor_key)
        others -= {user.pk for user in staff}
    if others and conversation.vendor_key != STORE:
        others -= {user.pk for user in get_adapter().get_store_staff()}
    if not others:
        return {}
    Participant.objects.filter(conversation=conversation, user_id__in=others).delete()
    return {user_id: unread for user_id, unread in participants if user_id in others}
