from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext

from .. import policy, signals
from ..adapter import Order, SubOrder, get_adapter
from ..conf import app_settings
from ..disputes import check_reason_code, response_deadline
from ..errors import (
    DisputeAlreadyOpen,
    InvalidChoice,
    InvalidTransition,
    OutcomeRequired,
    ReasonRequired,
)
from ..models import NAME_LENGTH, Conversation, Dispute, Message, Role
from ..notifications.outbox import queue_dispute_reminders
from ..queries import Actor
from ..ratelimit import check_dispute_rate
from ..webhooks import queue_webhooks
from .attachments import check_attachment_ids
from .conversations import ensure_conversation, take_part
from .messages import append_message, check_text

logger = logging.getLogger(__name__)

Status = Dispute.Status
Outcome = Dispute.Outcome
# How many overdue disputes one round of the clock handles.
CLOCK_BATCH = 100


def current_status(conversation: Conversation) -> str | None:
    latest = conversation.disputes.order_by("-opened_at", "-pk").values_list("status").first()
    return latest[0] if latest else None


def check_transition(*, current: str | None, target: str, role: str) -> None:
    """Refuse a move the transition table does not allow, or not to this role."""
    allowed = Dispute.TRANSITIONS.get((current, target))
    if allowed is None:
        if target == Status.OPEN:
            raise DisputeAlreadyOpen()
        raise InvalidTransition(gettext("There is no open dispute to close."))
    if role not in allowed:
        raise InvalidTransition(gettext("You cannot change this dispute."))


def check_reason(reason: str) -> str:
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
    return reason


def check_requested(requested: str) -> str:
    if requested not in Dispute.Request.values:
        raise InvalidChoice(
            gettext("Please choose what you would like from the list (%(keys)s).")
            % {"keys": ", ".join(Dispute.Request.values)}
        )
    return requested


def open_dispute(
    *,
    order: Order,
    sub_order: SubOrder,
    actor: Actor,
    reason: str,
    reason_code: str = "other",
    requested: str = Dispute.Request.OTHER,
    attachments: Sequence[int] = (),
) -> Dispute:
    """Open a dispute: what went wrong (``reason_code``, one of DISPUTE_REASONS), what the
    customer asks for (``requested``), their words (``reason``) and the files they uploaded
    for it (``attachments``). The store's staff join the conversation, everyone is told,
    and the seller's clock starts (DISPUTE_RESPONSE_HOURS). Raises Throttled when the
    dispute changed too often lately (DISPUTE_RATE_LIMIT)."""
    attachments = check_attachment_ids(attachments)
    reason = check_reason(reason)
    reason_code = check_reason_code(reason_code)
    requested = check_requested(requested)
    with transaction.atomic():
        conversation = ensure_conversation(order=order, sub_order=sub_order)
        conversation = Conversation.objects.select_for_update().get(pk=conversation.pk)
        check_transition(current=current_status(conversation), target=Status.OPEN, role=actor.role)
        check_dispute_rate(conversation=conversation)
        now = timezone.now()
        dispute = Dispute.objects.create(
            conversation=conversation,
            reason=reason,
            reason_code=reason_code,
            requested=requested,
            opened_by=actor.user,
            opened_by_name=actor.name[:NAME_LENGTH],
            respond_by=response_deadline(now),
        )
        Conversation.objects.filter(pk=conversation.pk).update(
            open_dispute=dispute, dispute_count=F("dispute_count") + 1, escalated=False
        )
        conversation.open_dispute = dispute
        conversation.dispute_count += 1
        conversation.escalated = False
        members = list(policy.store_staff_members().items())
        if actor.user is not None:
            members.append((actor.user.pk, actor.role))
        take_part(conversation=conversation, members=members)
        opening = append_message(
            conversation=conversation,
            actor=actor,
            body=reason,
            kind=Message.Kind.DISPUTE_OPENED,
            attachments=attachments,
            dispute=dispute,
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


def check_outcome(*, actor: Actor, outcome: str | None) -> str:
    """A customer closing their dispute withdraws it; staff say how it was resolved."""
    if actor.role == Role.CUSTOMER:
        if outcome not in (None, "", Outcome.WITHDRAWN):
            raise InvalidChoice(gettext("A customer can only withdraw their dispute."))
        return Outcome.WITHDRAWN
    if not outcome:
        raise OutcomeRequired()
    if outcome not in Outcome.values:
        raise InvalidChoice(
            gettext("Please choose the outcome from the list (%(keys)s).")
            % {"keys": ", ".join(Outcome.values)}
        )
    return outcome


def _call_resolved_hook(dispute: Dispute, conversation: Conversation) -> None:
    try:
        get_adapter().dispute_resolved(dispute=dispute, conversation=conversation)
    except Exception:  # noqa: BLE001 — the store's code must not undo a committed resolution
        logger.exception("The store's dispute_resolved hook failed for dispute %s", dispute.pk)


def close_dispute(
    *, conversation: Conversation, actor: Actor, outcome: str | None = None, note: str = ""
) -> Dispute | None:
    """Resolve the open dispute: store staff with an ``outcome`` and a ``note`` for the
    customer; a customer closing their own records "withdrawn". Closing when none is open
    does nothing and returns None. Raises Throttled when the dispute changed too often
    lately (DISPUTE_RATE_LIMIT)."""
    outcome = check_outcome(actor=actor, outcome=outcome)
    note = note or ""
    check_text(note)
    note = note.replace("\r\n", "\n").strip()
    limit = app_settings.MAX_REASON_LENGTH
    if len(note) > limit:
        raise InvalidChoice(
            gettext("A note can have at most %(limit)d characters.") % {"limit": limit}
        )
    with transaction.atomic():
        conversation = Conversation.objects.select_for_update().get(pk=conversation.pk)
        if conversation.open_dispute_id is None:
            return None
        dispute = Dispute.objects.get(pk=conversation.open_dispute_id)
        check_transition(current=dispute.status, target=Status.CLOSED, role=actor.role)
        check_dispute_rate(conversation=conversation)
        dispute.status = Status.CLOSED
        dispute.outcome = outcome
        dispute.resolution_note = note
        dispute.closed_by = actor.user
        dispute.closed_by_name = actor.name[:NAME_LENGTH]
        dispute.closed_at = timezone.now()
        dispute.save(
            update_fields=[
                "status",
                "outcome",
                "resolution_note",
                "closed_by",
                "closed_by_name",
                "closed_at",
            ]
        )
        closing = {"open_dispute": None, "escalated": False}
        if outcome != Outcome.WITHDRAWN:
            # Staff's resolution answers the customer: nobody waits for a reply any more.
            # The seller, who did not answer, is credited with no reply time.
            closing.update(awaiting_since=None, awaiting_count=0)
        Conversation.objects.filter(pk=conversation.pk).update(**closing)
        for column, value in closing.items():
            setattr(conversation, column, value)
        append_message(
            conversation=conversation,
            actor=actor,
            body=note,
            kind=Message.Kind.DISPUTE_CLOSED,
            dispute=dispute,
        )
        queue_webhooks(event_type="dispute.closed", conversation=conversation, dispute=dispute)
        queue_webhooks(event_type="dispute.resolved", conversation=conversation, dispute=dispute)
        transaction.on_commit(
            lambda: signals.dispute_closed.send(
                sender=Dispute, dispute=dispute, conversation=conversation
            )
        )
        transaction.on_commit(lambda: _call_resolved_hook(dispute, conversation))
    return dispute


def system_actor() -> Actor:
    return Actor(None, Role.SYSTEM, get_adapter().get_store_name())


def escalate_dispute(*, dispute_id: int, now: datetime) -> bool:
    """Escalate one overdue dispute to the store's staff, if it still is overdue and no
    one else did: the conversation's row lock and the conditional update make this happen
    once, however many workers try at the same moment."""
    with transaction.atomic():
        conversation_id = (
            Dispute.objects.filter(pk=dispute_id).values_list("conversation_id", flat=True).first()
        )
        if conversation_id is None:
            return False
        conversation = Conversation.objects.select_for_update().get(pk=conversation_id)
        escalated = Dispute.objects.filter(
            pk=dispute_id, status=Status.OPEN, responded_at__isnull=True, respond_by__lte=now
        ).update(status=Status.ESCALATED, escalated_at=now)
        if not escalated:
            return False
        dispute = Dispute.objects.get(pk=dispute_id)
        Conversation.objects.filter(pk=conversation.pk).update(escalated=True)
        conversation.escalated = True
        # Staff who joined the store since the dispute opened are told too.
        take_part(conversation=conversation, members=list(policy.store_staff_members().items()))
        append_message(
            conversation=conversation,
            actor=system_actor(),
            body="",
            kind=Message.Kind.DISPUTE_ESCALATED,
            dispute=dispute,
        )
        queue_webhooks(event_type="dispute.escalated", conversation=conversation, dispute=dispute)
        transaction.on_commit(
            lambda: signals.dispute_escalated.send(
                sender=Dispute, dispute=dispute, conversation=conversation
            )
        )
    return True


def escalate_overdue_disputes(*, now: datetime | None = None, limit: int = CLOCK_BATCH) -> int:
    """Escalate the disputes whose seller let the deadline pass without an answer.
    Returns how many this call escalated."""
    now = now or timezone.now()
    due = list(
        Dispute.objects.filter(status=Status.OPEN, responded_at__isnull=True, respond_by__lte=now)
        .order_by("respond_by", "pk")
        .values_list("pk", flat=True)[:limit]
    )
    return sum(escalate_dispute(dispute_id=pk, now=now) for pk in due)


def remind_sellers(*, now: datetime | None = None, limit: int = CLOCK_BATCH) -> int:
    """E-mail the seller of each dispute whose deadline is near (DISPUTE_REMINDER_HOURS)
    and still unanswered, once per dispute. Returns how many disputes were reminded of."""
    now = now or timezone.now()
    window = timedelta(hours=app_settings.DISPUTE_REMINDER_HOURS)
    due = list(
        Dispute.objects.filter(
            status=Status.OPEN,
            responded_at__isnull=True,
            reminded_at__isnull=True,
            respond_by__gt=now,
            respond_by__lte=now + window,
            # A deadline shorter than the window was in the e-mail that told of the
            # dispute: a reminder right after it would say nothing new.
            opened_at__lt=F("respond_by") - window,
        )
        .order_by("respond_by", "pk")
        .values_list("pk", "conversation_id")[:limit]
    )
    reminded = 0
    for pk, conversation_id in due:
        with transaction.atomic():
            # The conversation first, as every dispute action locks them: a resolution at
            # the same moment waits here rather than deadlocking.
            list(Conversation.objects.select_for_update().filter(pk=conversation_id).values("pk"))
            if not Dispute.objects.filter(
                pk=pk, status=Status.OPEN, responded_at__isnull=True, reminded_at__isnull=True
            ).update(reminded_at=now):
                continue
            dispute = Dispute.objects.select_related("conversation").get(pk=pk)
            queue_dispute_reminders(dispute=dispute, conversation=dispute.conversation, now=now)
            reminded += 1
    return reminded
