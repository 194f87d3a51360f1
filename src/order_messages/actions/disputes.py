from __future__ import annotations

from collections.abc import Sequence

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext

from .. import policy, signals
from ..adapter import Order, SubOrder
from ..conf import app_settings
from ..errors import DisputeAlreadyOpen, InvalidTransition, ReasonRequired
from ..models import Conversation, Dispute, Message
from ..queries import Actor
from ..ratelimit import check_dispute_rate
from ..webhooks import queue_webhooks
from .attachments import check_attachment_ids
from .conversations import add_participants, ensure_conversation
from .messages import append_message, check_text

Status = Dispute.Status


def check_transition(*, conversation: Conversation, target: str) -> None:
    latest = conversation.disputes.order_by("-opened_at", "-pk").values_list("status").first()
    current = latest[0] if latest else None
    if target not in Dispute.TRANSITIONS[current]:
        if target == Status.OPEN:
            raise DisputeAlreadyOpen()
        raise InvalidTransition(gettext("There is no open dispute to close."))


def open_dispute(
    *,
    order: Order,
    sub_order: SubOrder,
    actor: Actor,
    reason: str,
    attachments: Sequence[int] = (),
) -> Dispute:
    """Open a dispute: the store's staff join the conversation and everyone is told. The
    files the customer uploaded for it (``attachments``) go with the reason. Raises
    Throttled when the dispute changed too often lately (DISPUTE_RATE_LIMIT)."""
    attachments = check_attachment_ids(attachments)
    reason = reason or ""
    check_text(reason)
    reason = reason.strip()
    if not reason:
        raise ReasonRequired()
    limit = app_settings.MAX_REASON_LENGTH
    if len(reason) > limit:
        raise ReasonRequired(
            gettext("A reason can have at most %(limit)d characters.") % {"limit": limit}
        )
    with transaction.atomic():
        conversation = ensure_conversation(order=order, sub_order=sub_order)
        conversation = Conversation.objects.select_for_update().get(pk=conversation.pk)
        check_transition(conversation=conversation, target=Status.OPEN)
        check_dispute_rate(conversation=conversation)
        dispute = Dispute.objects.create(
            conversation=conversation,
            reason=reason,
            opened_by=actor.user,
            opened_by_name=actor.name,
        )
        Conversation.objects.filter(pk=conversation.pk).update(open_dispute=dispute)
        conversation.open_dispute = dispute
        members = list(policy.store_staff_members().items())
        if actor.user is not None:
            members.append((actor.user.pk, actor.role))
        add_participants(conversation=conversation, members=members)
        opening = append_message(
            conversation=conversation,
            actor=actor,
            body=reason,
            kind=Message.Kind.DISPUTE_OPENED,
            attachments=attachments,
        )
        queue_webhooks(
            event_type="dispute.opened",
            conversation=conversation,
            dispute=dispute,
            files=opening.files,
        )
        transaction.on_commit(
            lambda: signals.dispute_opened.send(
                sender=Dispute, dispute=dispute, conversation=conversation
            )
        )
    return dispute


def close_dispute(*, conversation: Conversation, actor: Actor) -> Dispute | None:
    """Close the open dispute. Closing when none is open does nothing and returns None.
    Raises Throttled when the dispute changed too often lately (DISPUTE_RATE_LIMIT)."""
    with transaction.atomic():
        conversation = Conversation.objects.select_for_update().get(pk=conversation.pk)
        if conversation.open_dispute_id is None:
            return None
        dispute = Dispute.objects.get(pk=conversation.open_dispute_id)
        check_transition(conversation=conversation, target=Status.CLOSED)
        check_dispute_rate(conversation=conversation)
        dispute.status = Status.CLOSED
        dispute.closed_by = actor.user
        dispute.closed_by_name = actor.name
        dispute.closed_at = timezone.now()
        dispute.save(update_fields=["status", "closed_by", "closed_by_name", "closed_at"])
        Conversation.objects.filter(pk=conversation.pk).update(open_dispute=None)
        conversation.open_dispute = None
        append_message(
            conversation=conversation, actor=actor, body="", kind=Message.Kind.DISPUTE_CLOSED
        )
        queue_webhooks(event_type="dispute.closed", conversation=conversation, dispute=dispute)
        transaction.on_commit(
            lambda: signals.dispute_closed.send(
                sender=Dispute, dispute=dispute, conversation=conversation
            )
        )
    return dispute
