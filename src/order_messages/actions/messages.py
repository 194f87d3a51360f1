from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import connection, router, transaction
from django.db.models import (
    Case,
    F,
    PositiveBigIntegerField,
    PositiveIntegerField,
    Q,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext

from .. import live, policy, signals
from ..adapter import STORE, Order, SubOrder, get_adapter
from ..conf import app_settings
from ..db import update_returning
from ..errors import EmptyMessage, MessageTooLong, UnreadableText
from ..models import (
    NAME_LENGTH,
    Attachment,
    Conversation,
    Dispute,
    Message,
    Participant,
    Role,
    UnreadCounter,
    WebhookEndpoint,
)
from ..notifications.outbox import queue_notifications
from ..queries import Actor
from ..ratelimit import check_posting_rate
from ..webhooks import queue_webhooks
from .attachments import check_attachment_ids, claim_attachments
from .conversations import (
    add_participants,
    counter_deltas,
    ensure_conversation,
    locked_members,
    reconcile_participants,
)
from .counters import change_counters, counter_less, unread_totals

EXCERPT_LENGTH = 200
LIVE_EVENT = {
    Message.Kind.MESSAGE: "message.posted",
    Message.Kind.DISPUTE_OPENED: "dispute.opened",
    Message.Kind.DISPUTE_ESCALATED: "dispute.escalated",
    Message.Kind.DISPUTE_CLOSED: "dispute.closed",
}
DAY = timedelta(days=1)


def check_text(text: str) -> None:
    """Refuse text that would be stored mangled or not at all: PostgreSQL rejects NUL
    characters, and unpaired surrogates (from ``"\\ud800"`` in JSON) cannot be encoded.
    Dropping them silently would store something other than what was sent."""
    if "\x00" in text:
        raise UnreadableText()
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise UnreadableText() from None


def clean_body(body: str, *, allow_empty: bool = False) -> str:
    """The text to store, or a clear error. Line breaks are kept, the ends trimmed. With
    ``allow_empty`` (a message that carries files) it may be empty."""
    body = body or ""
    check_text(body)
    body = body.replace("\r\n", "\n").strip()
    if not body and not allow_empty:
        raise EmptyMessage()
    limit = app_settings.MAX_MESSAGE_LENGTH
    if len(body) > limit:
        raise MessageTooLong(
            gettext("A message can have at most %(limit)d characters (this one has %(n)d).")
            % {"limit": limit, "n": len(body)}
        )
    return body


def post_message(
    *,
    order: Order,
    sub_order: SubOrder,
    actor: Actor,
    body: str,
    attachments: Sequence[int] = (),
    limit_rate: bool = False,
) -> Message:
    """Post a message in the sub-order's conversation, creating it on first use, with the
    files the author uploaded for it (``attachments``: their ids). With ``limit_rate``
    (pages and API) the post counts against POST_RATE_LIMIT, checked in its transaction:
    Throttled when the author has written their quota lately."""
    attachments = check_attachment_ids(attachments)
    body = clean_body(body, allow_empty=bool(attachments))
    with transaction.atomic():
        if limit_rate:
            check_posting_rate(actor=actor, order_number=order.number)
        # Most posts go to a conversation that exists: its row is advanced, locked and read
        # in one statement; the first one creates it.
        key = Q(order_number=order.number, vendor_key=sub_order.vendor_key)
        advance = Advance.of(actor=actor, body=body, attachments=len(attachments))
        conversation = advance_conversation(key, advance)
        if conversation is None:
            ensure_conversation(order=order, sub_order=sub_order)
            conversation = advance_conversation(key, advance)
        message = append_message(
            conversation=conversation,
            actor=actor,
            body=body,
            join=True,
            order=order,
            attachments=attachments,
            advanced=advance,
        )
    return message


@dataclass(frozen=True)
class Advance:
    """What a new message changes on its conversation's row."""

    now: datetime
    excerpt: str
    attachments: int
    from_customer: bool

    @classmethod
    def of(cls, *, actor: Actor, body: str, attachments: int, kind: str = Message.Kind.MESSAGE):
        return cls(
            now=timezone.now(),
            excerpt=" ".join(body.split())[:EXCERPT_LENGTH],
            attachments=attachments,
            from_customer=kind == Message.Kind.MESSAGE and actor.role == Role.CUSTOMER,
        )


CONVERSATION_COLUMNS = tuple(f.attname for f in Conversation._meta.concrete_fields)
# What a new message changes: copied onto the caller's conversation object.
ADVANCED_COLUMNS = (
    "last_seq",
    "last_message_at",
    "last_message_excerpt",
    "attachment_count",
    "awaiting_since",
    "awaiting_count",
    "open_dispute_id",
)


def any_webhook_endpoint_sql() -> str:
    """SQL that tells whether any webhook endpoint is active."""
    quote = connection.ops.quote_name
    table = quote(WebhookEndpoint._meta.db_table)
    active = quote(WebhookEndpoint._meta.get_field("active").column)
    return f"EXISTS (SELECT 1 FROM {table} WHERE {active})"


def advance_conversation(where: Q, advance: Advance) -> Conversation | None:
    """Give the conversation its next sequence number and latest message, and return its
    row as written (None if there is none). The UPDATE takes the row lock, so the
    sequence number is ours and gapless."""
    changes = {}
    if advance.from_customer:
        # The customer waits from their first message the seller has not answered.
        changes = {
            "awaiting_since": Coalesce(F("awaiting_since"), Value(advance.now)),
            "awaiting_count": F("awaiting_count") + 1,
        }
    rows = update_returning(
        Conversation.objects.filter(where),
        CONVERSATION_COLUMNS,
        # Whether any webhook endpoint listens, in the same statement: most stores have
        # none, and then the post asks nothing more of them.
        also=[any_webhook_endpoint_sql()],
        last_seq=F("last_seq") + 1,
        last_message_at=advance.now,
        last_message_excerpt=advance.excerpt,
        attachment_count=F("attachment_count") + advance.attachments,
        **changes,
    )
    if not rows:
        return None
    *values, listening = rows[0]
    using = router.db_for_write(Conversation)
    conversation = Conversation.from_db(using, CONVERSATION_COLUMNS, values)
    conversation.webhooks_listen = bool(listening)
    return conversation


def excerpt_of(body: str, files: Sequence[Attachment]) -> str:
    """What lists show of a message: its text, or for files alone their names."""
    text = " ".join(body.split())
    if not text and files:
        text = "📎 " + ", ".join(f.name for f in files)
    return text[:EXCERPT_LENGTH]


def append_message(
    *,
    conversation: Conversation,
    actor: Actor,
    body: str,
    kind: str = Message.Kind.MESSAGE,
    join: bool = False,
    order: Order | None = None,
    attachments: Sequence[int] = (),
    dispute: Dispute | None = None,
    advanced: Advance | None = None,
) -> Message:
    """Write a message with the next sequence number and bump everyone's counters. With
    ``join``, an author who is not yet a participant becomes one. Who is told is decided
    by the policy with the store's order of now (``order``, when the caller has it).

    Locks, always in this order: the conversation row, its participants by user id, the
    conversation's open e-mail batches, then the unread counters by user id. ``mark_read``
    takes a subset in the same order, so concurrent posts and reads cannot deadlock. The
    message's uploads (``attachments``) are claimed after the conversation row, all or
    none: a missing one rolls the message back. ``dispute``: the dispute a dispute event
    is about. ``advanced``: the caller advanced the conversation's row already
    (``advance_conversation``), and ``conversation`` is that row as written.
    """
    if advanced is None:
        advanced = Advance.of(actor=actor, body=body, attachments=len(attachments), kind=kind)
        row = advance_conversation(Q(pk=conversation.pk), advanced)
        for column in ADVANCED_COLUMNS:
            setattr(conversation, column, getattr(row, column))
        conversation.webhooks_listen = row.webhooks_listen
    now, excerpt = advanced.now, advanced.excerpt
    seq, open_dispute_id = conversation.last_seq, conversation.open_dispute_id
    response = {}
    if kind == Message.Kind.MESSAGE and actor.role == policy.seller_role(conversation.vendor_key):
        response = answer_waiting(
            conversation=conversation, now=now, open_dispute_id=open_dispute_id
        )
    message = Message.objects.create(
        conversation=conversation,
        seq=seq,
        kind=kind,
        author=actor.user,
        author_role=actor.role,
        author_name=actor.name[:NAME_LENGTH],
        body=body,
        dispute=dispute,
        created_at=now,
        **response,
    )
    message.files = claim_attachments(
        message=message, conversation=conversation, actor=actor, ids=attachments
    )
    if message.files and not excerpt:
        excerpt = excerpt_of(body, message.files)
        Conversation.objects.filter(pk=conversation.pk).update(last_message_excerpt=excerpt)
    conversation.last_message_excerpt = excerpt

    if order is None:
        order = get_adapter().get_order(conversation.order_number)
    members = locked_members(conversation=conversation)
    participants = [(p.user_id, p.role, p.unread_count) for p in members]
    author_id = actor.user.pk if actor.user is not None else None
    # Participants are remembered, access is the store's to change: those who may no
    # longer read the conversation hear nothing more of it, and its customer of now (or a
    # vendor's new staff) take part from here (SPEC 9).
    changes = reconcile_participants(
        conversation=conversation,
        order=order,
        participants=participants,
        author_id=author_id,
        as_of_seq=seq - 1,
    )
    participants = [
        (user_id, n) for user_id, _role, n in participants if user_id not in changes.departed
    ] + list(changes.joined.items())
    recipients = [user_id for user_id, _ in participants if user_id != author_id]
    author_unread = next((n for user_id, n in participants if user_id == author_id), 0)
    if join and author_id is not None and len(recipients) == len(participants):
        # Joined as of this message: nothing unread, already up to date.
        add_participants(conversation=conversation, members=[(author_id, actor.role)])
        participants.append((author_id, 0))
    elif any(p.marked_only and p.user_id == author_id for p in members):
        # Staff who had only marked it unread take part in what they answer.
        Participant.objects.filter(conversation=conversation, user_id=author_id).update(
            marked_only=False
        )

    # Everyone else has one more unread; writing in a conversation means having read it.
    updates = {"unread_count": F("unread_count") + 1, "last_message_at": now}
    if author_id is not None:
        updates["unread_count"] = Case(
            When(user_id=author_id, then=0),
            default=F("unread_count") + 1,
            output_field=PositiveIntegerField(),
        )
        updates["last_read_seq"] = Case(
            When(user_id=author_id, then=seq),
            default=F("last_read_seq"),
            output_field=PositiveBigIntegerField(),
        )
    Participant.objects.filter(conversation=conversation).update(**updates)
    # Those who joined just now are read with their accounts again; the others are known.
    told = None if changes.joined else [p for p in members if p.user_id not in changes.departed]
    queue_notifications(message=message, conversation=conversation, participants=told)
    if kind == Message.Kind.MESSAGE:
        if conversation.webhooks_listen:
            queue_webhooks(event_type="message.posted", conversation=conversation, message=message)
    # The unread counters last: a busy vendor's counter is the row every post to them
    # waits for, so it is held only from here to the commit. One delta per person: one
    # more unread for each recipient, the author's read, and what those who left or joined
    # the conversation take with them (a new customer who writes first nets nothing).
    deltas = dict.fromkeys(recipients, 1)
    if author_unread:
        deltas[author_id] = deltas.get(author_id, 0) - author_unread
    locked = change_counters(counter_deltas(changes, deltas))

    live.publish_on_commit(
        [user_id for user_id, _ in participants],
        LIVE_EVENT[kind],
        {
            "conversation": conversation.pk,
            "order_number": conversation.order_number,
            "vendor_key": conversation.vendor_key,
            "seq": seq,
            "author_name": actor.name,
            "author_role": actor.role,
            "excerpt": excerpt,
            "attachments": len(message.files),
        },
    )
    # For store staff's lists: which conversation changed, not what it says.
    live.publish_on_commit(
        [live.STAFF],
        live.CHANGED,
        {
            "conversation": conversation.pk,
            "order_number": conversation.order_number,
            "vendor_key": conversation.vendor_key,
            "seq": seq,
        },
    )
    live.publish_on_commit(locked, "unread.changed", data_for=unread_totals)
    transaction.on_commit(
        lambda: signals.message_posted.send(
            sender=Message, message=message, conversation=conversation
        )
    )
    return message


def answer_waiting(*, conversation: Conversation, now: datetime, open_dispute_id) -> dict:
    """The seller answers: the customer no longer waits, and an open dispute's clock
    stops. Returns the response figures the reply carries (rolled up by metrics.py)."""
    if open_dispute_id is not None:
        Dispute.objects.filter(pk=open_dispute_id, responded_at__isnull=True).update(
            responded_at=now
        )
    since, count = conversation.awaiting_since, conversation.awaiting_count
    if since is None:
        return {}
    Conversation.objects.filter(pk=conversation.pk).update(awaiting_since=None, awaiting_count=0)
    conversation.awaiting_since, conversation.awaiting_count = None, 0
    waited = now - since
    within_day = count
    if waited > DAY:
        # Every waiting message is the customer's since ``since``; those of the last day
        # were answered in time.
        within_day = Message.objects.filter(
            conversation=conversation,
            kind=Message.Kind.MESSAGE,
            author_role=Role.CUSTOMER,
            created_at__gte=now - DAY,
        ).count()
    return {
        "response_seconds": max(0, int(waited.total_seconds())),
        "answered": count,
        "answered_within_day": min(within_day, count),
    }


def mark_read(*, conversation: Conversation, user, up_to_seq: int | None = None) -> int:
    """Mark the conversation read for the user: the whole of it, or with ``up_to_seq`` the
    messages up to that one (those a page showed; a message that arrived after the page
    was read stays unread). Returns how many became read."""
    with transaction.atomic():
        row = (
            Participant.objects.select_for_update()
            .filter(conversation=conversation, user=user)
            .values_list("pk", "unread_count", "last_read_seq", "marked_only")
            .first()
        )
        if row is None:
            return 0
        pk, unread, last_read_seq, marked_only = row
        participant = Participant.objects.filter(pk=pk)
        if up_to_seq is None:
            if unread == 0 and last_read_seq >= conversation.last_seq:
                if marked_only:  # nothing left of what they marked (a repaired count)
                    participant.delete()
                return 0
            if marked_only:
                # Read, the conversation is no longer theirs to follow.
                participant.delete()
            else:
                # Read last_seq after taking the lock: a post that committed meanwhile is
                # counted.
                participant.update(
                    unread_count=0,
                    last_read_seq=Subquery(
                        Conversation.objects.filter(pk=conversation.pk).values("last_seq")[:1]
                    ),
                )
            read = unread
        else:
            if up_to_seq <= last_read_seq:
                return 0
            # With this participant locked no post can commit (a post locks every
            # participant), so the committed messages after the mark are exactly the ones
            # still unread.
            left = Message.objects.filter(conversation=conversation, seq__gt=up_to_seq).count()
            read = max(0, unread - left)
            if marked_only and not min(unread, left):
                participant.delete()
            else:
                participant.update(unread_count=min(unread, left), last_read_seq=up_to_seq)
        if read:
            UnreadCounter.objects.filter(user=user).update(count=counter_less(read))
            live.publish_on_commit([user.pk], "unread.changed", data_for=unread_totals)
    return read


def mark_unread(*, conversation: Conversation, user, role: str) -> int:
    """Flag the conversation's last message unread for the user. Store staff reading along
    in a vendor's conversation join it until they have read it again
    (``Participant.marked_only``); anyone else who takes part in it by right and had not
    joined yet (a vendor's new staff) joins for good. Returns 1 if the count changed,
    else 0."""
    with transaction.atomic():
        conversation = Conversation.objects.select_for_update().get(pk=conversation.pk)
        if conversation.last_seq == 0:
            return 0
        reading_along = (
            role == Role.STAFF
            and conversation.vendor_key != STORE
            and conversation.open_dispute_id is None  # a dispute brings the store's staff in
        )
        add_participants(
            conversation=conversation, members=[(user.pk, role)], marked_only=reading_along
        )
        pk, unread = (
            Participant.objects.select_for_update()
            .filter(conversation=conversation, user=user)
            .values_list("pk", "unread_count")
            .get()
        )
        if unread:
            return 0
        Participant.objects.filter(pk=pk).update(
            unread_count=1, last_read_seq=conversation.last_seq - 1
        )
        UnreadCounter.objects.filter(user=user).update(count=F("count") + 1)
        live.publish_on_commit([user.pk], "unread.changed", data_for=unread_totals)
    return 1
