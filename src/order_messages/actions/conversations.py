from __future__ import annotations

from dataclasses import dataclass, field

from django.db import transaction
from django.db.models import OuterRef, Subquery

from .. import live, policy
from ..adapter import Order, SubOrder, get_adapter
from ..models import NAME_LENGTH, Conversation, Participant, UnreadCounter
from ..models.notifications import NotificationSettings
from ..routing import conversation_targets
from .counters import change_counters, unread_totals


def ensure_conversation(*, order: Order, sub_order: SubOrder) -> Conversation:
    """The conversation of this sub-order, created with its participants on first use (C4).

    Must run inside the caller's transaction.
    """
    conversation, created = Conversation.objects.get_or_create(
        order_number=order.number,
        vendor_key=sub_order.vendor_key,
        defaults={
            "vendor_name": sub_order.vendor_name[:NAME_LENGTH],
            "order_is_split": len(conversation_targets(order)) > 1,
            "customer_id": order.customer_id,
            "customer_email": order.customer_email,
            "customer_name": order.customer_name[:NAME_LENGTH],
        },
    )
    if created:
        members = policy.members_of(order=order, vendor_key=sub_order.vendor_key)
        add_participants(conversation=conversation, members=list(members.by_right().items()))
    return conversation


def add_participants(
    *,
    conversation: Conversation,
    members: list[tuple[int, str]],
    unread: int = 0,
    as_of_seq: int | None = None,
    marked_only: bool = False,
) -> None:
    """Add users who are not yet in the conversation, up to date as of its latest message
    (or ``as_of_seq``), or with ``unread`` messages before that unread. ``marked_only``:
    they join only to have it marked unread (``Participant.marked_only``)."""
    if not members:
        return
    assert transaction.get_connection().in_atomic_block
    last_seq = conversation.last_seq if as_of_seq is None else as_of_seq
    Participant.objects.bulk_create(
        [
            Participant(
                conversation=conversation,
                user_id=user_id,
                role=role,
                unread_count=unread,
                last_read_seq=last_seq - unread,
                last_message_at=conversation.last_message_at,
                marked_only=marked_only,
            )
            for user_id, role in members
        ],
        ignore_conflicts=True,
    )
    UnreadCounter.objects.bulk_create(
        [UnreadCounter(user_id=user_id) for user_id, _ in members], ignore_conflicts=True
    )


@dataclass
class Changes:
    """What ``reconcile_participants`` did: the unread counts of those who left, and those
    who joined (with what they have unread), for the caller's counters."""

    departed: dict[int, int] = field(default_factory=dict)
    joined: dict[int, int] = field(default_factory=dict)


def reconcile_participants(
    *,
    conversation: Conversation,
    order: Order | None,
    participants: list[tuple[int, str, int]],
    author_id: int | None = None,
    as_of_seq: int | None = None,
) -> Changes:
    """Make the conversation's participants those the policy says take part now: take out
    those the store no longer lets read it (a former customer of the order, a vendor's
    former staff, staff who lost ``manage_conversations``), bring in the order's customer of
    now (with everything unread) and the vendor's new staff (from now on). Updates the
    conversation's copy of the customer.

    ``participants`` are (user id, role, unread count) with their rows locked, and the
    conversation's row is locked. Newcomers join as of ``as_of_seq`` (default: the latest
    message), so that a message being posted reaches them as any other participant. The
    badge counters are the caller's to change, after the other rows (the posting
    action's lock order)."""
    members = policy.members_of(order=order, vendor_key=conversation.vendor_key)
    changes = Changes()
    for user_id, role, unread in participants:
        # The author passed the policy's check to write; they stay in whatever role.
        if not (members.may_stay(user_id, role) or user_id == author_id):
            changes.departed[user_id] = unread
    if changes.departed:
        Participant.objects.filter(conversation=conversation, user_id__in=changes.departed).delete()
    present = {user_id for user_id, _, _ in participants} - changes.departed.keys()
    newcomers = {u: r for u, r in members.by_right().items() if u not in present}
    customer = members.customer_id
    last_seq = conversation.last_seq if as_of_seq is None else as_of_seq
    if customer in newcomers:
        # The order's new customer reads the whole conversation as new.
        add_participants(
            conversation=conversation,
            members=[(customer, newcomers.pop(customer))],
            unread=last_seq,
            as_of_seq=last_seq,
        )
        changes.joined[customer] = last_seq
    if newcomers:
        add_participants(
            conversation=conversation, members=list(newcomers.items()), as_of_seq=last_seq
        )
        changes.joined.update(dict.fromkeys(newcomers, 0))
    name = order.customer_name[:NAME_LENGTH] if order is not None else ""
    if order is not None and (
        conversation.customer_id != order.customer_id
        or conversation.customer_email != order.customer_email
        or conversation.customer_name != name
    ):
        conversation.customer_id = order.customer_id
        conversation.customer_email = order.customer_email
        conversation.customer_name = name
        Conversation.objects.filter(pk=conversation.pk).update(
            customer_id=order.customer_id, customer_email=order.customer_email, customer_name=name
        )
    return changes


def take_part(*, conversation: Conversation, members: list[tuple[int, str]]) -> None:
    """As ``add_participants``, and those who had only marked the conversation unread take
    part in it for good: they are told of what comes next."""
    add_participants(conversation=conversation, members=members)
    Participant.objects.filter(
        conversation=conversation, user_id__in=[user_id for user_id, _ in members], marked_only=True
    ).update(marked_only=False)


def counter_deltas(changes: Changes, deltas: dict[int, int] | None = None) -> dict[int, int]:
    """What the changes do to badge counters: those who left lose their unread messages,
    those who joined gain theirs (added to ``deltas``, as one person may do both)."""
    deltas = {} if deltas is None else deltas
    for user_id, unread in changes.departed.items():
        deltas[user_id] = deltas.get(user_id, 0) - unread
    for user_id, unread in changes.joined.items():
        deltas[user_id] = deltas.get(user_id, 0) + unread
    return deltas


def update_order_access(*, order_number: str) -> int:
    """Bring an order's conversations in line with the store after it changed the order's
    customer or e-mail address (or the staff of one of its vendors): participants and
    unread counters move in one transaction. Returns how many participants changed.

    Call it from the store, e.g. from the order's ``post_save``. Every channel asks the
    policy before it shows or sends anything, so nothing leaks if the store does not; this
    moves the inbox rows and badge counts at once rather than at the next message."""
    order = get_adapter().get_order(order_number)
    changed = 0
    with transaction.atomic():
        conversations = list(
            Conversation.objects.select_for_update()
            .filter(order_number=order_number)
            .order_by("pk")
        )
        deltas: dict[int, int] = {}
        for conversation in conversations:
            changes = reconcile_participants(
                conversation=conversation,
                order=order,
                participants=locked_participants(conversation=conversation),
            )
            counter_deltas(changes, deltas)
            changed += len(changes.departed) + len(changes.joined)
        # The counters after every participant row, as a post takes them.
        touched = change_counters(deltas)
        live.publish_on_commit(touched, "unread.changed", data_for=unread_totals)
    return changed


def update_vendor_access(*, vendor_key: str) -> int:
    """As ``update_order_access``, for every conversation of a vendor whose staff changed:
    those who left are taken out at once. Newcomers join each conversation at its next
    message (a vendor may have many)."""
    stale = (
        policy.departed_answerers(vendor_key=vendor_key)
        .values_list("conversation__order_number", flat=True)
        .distinct()
    )
    return sum(update_order_access(order_number=number) for number in sorted(set(stale)))


def locked_members(*, conversation: Conversation) -> list[Participant]:
    """The participants, their rows locked in user order, with their accounts and e-mail
    frequency (``frequency``, None without a preference): who is told of a new message."""
    frequency = NotificationSettings.objects.filter(user_id=OuterRef("user_id"))
    return list(
        Participant.objects.select_for_update(of=("self",))
        .filter(conversation=conversation)
        .select_related("user")
        .annotate(frequency=Subquery(frequency.values("frequency")[:1]))
        .order_by("user_id")
    )


def locked_participants(*, conversation: Conversation) -> list[tuple[int, str, int]]:
    """(user id, role, unread count) of the participants, their rows locked in user order."""
    return list(
        Participant.objects.select_for_update()
        .filter(conversation=conversation)
        .order_by("user_id")
        .values_list("user_id", "role", "unread_count")
    )
