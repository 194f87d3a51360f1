"""Writing notification rows in the transaction of the change they tell of (N1, N2)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from django.db.models import Q
from django.utils import timezone

from .. import policy
from ..adapter import STORE, get_adapter
from ..conf import app_settings
from ..db import update_returning
from ..models import Conversation, Message, Participant, Role
from ..models.notifications import Audience, Notification, NotificationSettings

AUDIENCE_OF_ROLE = {
    Role.CUSTOMER: Audience.CUSTOMER,
    Role.VENDOR: Audience.VENDOR,
    Role.STAFF: Audience.STAFF,
}


@dataclass(frozen=True)
class Recipient:
    email: str
    name: str
    audience: str
    user_id: int | None = None


def store_inbox_wants(message: Message, conversation: Conversation | None = None) -> bool:
    """B4: the store's orders address hears of a message not written by store staff when
    the conversation is with the store, the message is a dispute event, or a dispute is open.
    """
    if not app_settings.STORE_EMAIL or message.author_role == Role.STAFF:
        return False
    conversation = conversation or message.conversation
    return (
        conversation.vendor_key == STORE
        or message.kind != Message.Kind.MESSAGE
        or conversation.open_dispute_id is not None
    )


def recipients_of(
    message: Message, conversation: Conversation, *, participants: list[Participant] | None = None
) -> list[Recipient]:
    """Everyone to be told of the message except its author, one entry per address.
    ``participants``: the conversation's participants with their users, when the caller
    has them (in user order). Those who only marked it unread are not told."""
    if participants is None:
        participants = (
            Participant.objects.filter(
                conversation=conversation, user__is_active=True, marked_only=False
            )
            .exclude(user__email="")
            .select_related("user")
            .order_by("user_id")
        )
    else:
        participants = [
            p for p in participants if p.user.is_active and p.user.email and not p.marked_only
        ]
    if message.author_id is not None:
        participants = [p for p in participants if p.user_id != message.author_id]
    adapter = get_adapter()
    found = [
        Recipient(
            p.user.email, adapter.get_display_name(p.user), AUDIENCE_OF_ROLE[p.role], p.user_id
        )
        for p in participants
    ]
    guest = policy.guest_recipient(conversation=conversation)
    if guest is not None and message.author_role != Role.CUSTOMER:
        found.append(Recipient(*guest, Audience.GUEST))
    if store_inbox_wants(message, conversation):
        found.append(Recipient(app_settings.STORE_EMAIL, adapter.get_store_name(), Audience.STORE))
    unique = {}
    for recipient in found:
        unique.setdefault(recipient.email.lower(), recipient)
    return list(unique.values())


def message_id_domain() -> str:
    return app_settings.MESSAGE_ID_DOMAIN or urlsplit(app_settings.SITE_URL).hostname or "localhost"


def new_message_id() -> str:
    return f"<om.{uuid.uuid4().hex}@{message_id_domain()}>"


def next_digest_time(now: datetime) -> datetime:
    local = timezone.localtime(now)
    at = local.replace(hour=app_settings.DIGEST_HOUR, minute=0, second=0, microsecond=0)
    return at if at > local else at + timedelta(days=1)


def _row(recipient: Recipient, message: Message, conversation, *, due_at, digest=False):
    return Notification(
        conversation=conversation,
        user_id=recipient.user_id,
        email=recipient.email,
        name=recipient.name[:200],
        audience=recipient.audience,
        kind=message.kind,
        first_seq=message.seq,
        last_seq=message.seq,
        digest=digest,
        due_at=due_at,
        message_id=new_message_id(),
    )


def _last_dispute_emails(
    conversation: Conversation, *, emails: list[str], now: datetime
) -> dict[str, datetime]:
    """When each address was last sent a dispute e-mail about the conversation, for those
    sent less than DISPUTE_EMAIL_FOLD_SECONDS ago; one being sent right now counts as now."""
    since = now - timedelta(seconds=app_settings.DISPUTE_EMAIL_FOLD_SECONDS)
    Status = Notification.Status
    last: dict[str, datetime] = {}
    for email, status, sent_at in Notification.objects.filter(
        Q(status=Status.SENT, sent_at__gt=since) | Q(status=Status.SENDING),
        conversation=conversation,
        kind__in=Message.DISPUTE_KINDS,
        email__in=emails,
    ).values_list("email", "status", "sent_at"):
        at = now if status == Status.SENDING else sent_at
        last[email] = max(last.get(email, at), at)
    return last


def queue_dispute_emails(
    *,
    recipients: list[Recipient],
    message: Message,
    conversation: Conversation,
    now: datetime,
) -> None:
    """A dispute event goes to everyone whatever their preferences, at once, unless it
    follows another within DISPUTE_EMAIL_FOLD_SECONDS: a dispute opened and closed again
    and again is then one e-mail that lists the events, not one e-mail per event.

    The recipient's unsent dispute e-mail about the conversation, if any, takes the event
    on (its seq range grows). Otherwise, if one went out less than FOLD seconds ago, the new
    e-mail waits until FOLD seconds after it, and events in the meantime join it.
    """
    # FOR UPDATE waits for a worker that is claiming one of these rows; a row it claimed is
    # no longer pending, and the event then waits for the next e-mail instead.
    pending: dict[str, int] = {}
    for pk, email in (
        Notification.objects.select_for_update()
        .filter(
            conversation=conversation,
            kind__in=Message.DISPUTE_KINDS,
            status=Notification.Status.PENDING,
            email__in=[r.email for r in recipients],
        )
        .order_by("pk")
        .values_list("pk", "email")
    ):
        pending[email] = pk  # the newest, should a retried one be pending beside it
    if pending:
        Notification.objects.filter(pk__in=pending.values()).update(last_seq=message.seq)
    others = [r for r in recipients if r.email not in pending]
    if not others:
        return
    fold = timedelta(seconds=app_settings.DISPUTE_EMAIL_FOLD_SECONDS)
    last = _last_dispute_emails(conversation, emails=[r.email for r in others], now=now)
    Notification.objects.bulk_create(
        [
            _row(
                r,
                message,
                conversation,
                due_at=max(now, last[r.email] + fold) if r.email in last else now,
            )
            for r in others
        ]
    )


def queue_notifications(
    *, message: Message, conversation: Conversation, participants: list[Participant] | None = None
) -> None:
    """Write the e-mails a new message or dispute event calls for.

    Runs inside the poster's transaction, holding the conversation's row lock, so two
    posts never race for the same batch. A dispute event is e-mailed whatever the
    recipient's preferences, at once or folded with the events around it
    (``queue_dispute_emails``); a message joins the recipient's open batch for the
    conversation or opens one, due after the batching delay (or at digest time).
    ``participants``: every participant with their user and e-mail ``frequency``
    (``actions.conversations.locked_members``), when the caller has them.
    """
    recipients = recipients_of(message, conversation, participants=participants)
    if not recipients:
        return
    now = timezone.now()
    if message.kind != Message.Kind.MESSAGE:
        queue_dispute_emails(
            recipients=recipients, message=message, conversation=conversation, now=now
        )
        return

    if participants is None:
        user_ids = [r.user_id for r in recipients if r.user_id is not None]
        frequency = dict(
            NotificationSettings.objects.filter(user_id__in=user_ids).values_list(
                "user_id", "frequency"
            )
        )
    else:
        frequency = {p.user_id: p.frequency for p in participants if p.frequency}
    Frequency = NotificationSettings.Frequency
    wanted = [r for r in recipients if frequency.get(r.user_id) != Frequency.OFF]
    # The UPDATE waits for a worker that is claiming one of these rows; a row it claimed is
    # no longer pending, so the message then starts a new batch rather than being lost.
    open_batches = {
        email
        for (email,) in update_returning(
            Notification.objects.filter(
                conversation=conversation,
                kind=Message.Kind.MESSAGE,
                status=Notification.Status.PENDING,
                email__in=[r.email for r in wanted],
            ),
            ("email",),
            last_seq=message.seq,
        )
    }
    delay = timedelta(seconds=app_settings.EMAIL_BATCH_DELAY)
    rows = []
    for recipient in wanted:
        if recipient.email in open_batches:
            continue
        if frequency.get(recipient.user_id) == Frequency.DIGEST:
            rows.append(
                _row(recipient, message, conversation, due_at=next_digest_time(now), digest=True)
            )
        else:
            rows.append(_row(recipient, message, conversation, due_at=now + delay))
    Notification.objects.bulk_create(rows)


def queue_dispute_reminders(*, dispute, conversation: Conversation, now: datetime) -> None:
    """E-mail those who answer for the seller that the dispute's deadline is near. It
    tells of no new message: it points at the conversation as it stands."""
    staff, role = policy.answerers(conversation.vendor_key)
    adapter = get_adapter()
    found = {}
    for user in staff:
        if user.is_active and user.email:
            found.setdefault(
                user.email.lower(),
                Recipient(
                    user.email, adapter.get_display_name(user), AUDIENCE_OF_ROLE[role], user.pk
                ),
            )
    seq = conversation.last_seq
    Notification.objects.bulk_create(
        [
            Notification(
                conversation=conversation,
                user_id=r.user_id,
                email=r.email,
                name=r.name[:200],
                audience=r.audience,
                kind=Notification.Kind.DISPUTE_REMINDER,
                first_seq=seq,
                last_seq=seq,
                due_at=now,
                message_id=new_message_id(),
            )
            for r in found.values()
        ]
    )
