"""Turning notification rows into e-mails (N3): text and HTML from templates a store can
override, in the recipient's language, threaded per conversation, with reply and
one-click unsubscribe addresses."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from email.charset import Charset
from email.header import Header
from email.policy import Compat32, compat32

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import EmailMultiAlternatives
from django.core.validators import validate_email
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation

from .. import policy
from ..adapter import Order, get_adapter
from ..attachments.links import file_link
from ..conf import app_settings
from ..guest import make_guest_token
from ..models import Conversation, Dispute, Message, Participant
from ..models.notifications import Audience, Mute, Notification, NotificationSettings
from ..queries.attachments import with_files
from .outbox import message_id_domain
from .tokens import make_reply_address, make_unsubscribe_token

# How many earlier e-mails of the thread a References header names.
REFERENCES_KEPT = 10


def absolute(path: str) -> str:
    if path.startswith(("http://", "https://")):
        return path
    return app_settings.SITE_URL.rstrip("/") + path


_UNREAD = object()


def preferences_of(notification: Notification) -> NotificationSettings | None:
    """The recipient's e-mail preferences as they are now (they may have changed since the
    row was written), read once per e-mail (or with its batch, ``read_ahead``)."""
    preferences = getattr(notification, "_preferences", _UNREAD)
    if preferences is _UNREAD:
        preferences = None
        if notification.user_id is not None:
            preferences = NotificationSettings.objects.filter(user_id=notification.user_id).first()
        notification._preferences = preferences
    return preferences


def language_of(notification: Notification) -> str:
    preferences = preferences_of(notification)
    if preferences is not None and preferences.language:
        return preferences.language
    if notification.user_id is not None:
        language = get_adapter().get_user_language(notification.user)
        if language:
            return language
    return settings.LANGUAGE_CODE


def switched_off(notification: Notification) -> bool:
    preferences = preferences_of(notification)
    return preferences is not None and preferences.frequency == NotificationSettings.Frequency.OFF


def messages_link(notification: Notification, conversation: Conversation, order: Order | None):
    """Where the recipient reads the conversation: a signed link for a guest."""
    if notification.audience == Audience.GUEST:
        if order is None:
            return ""
        # Bound to the address the e-mail goes to: if the order names another by now, the
        # link opens nothing.
        token = make_guest_token(order, email=notification.email)
        return absolute(reverse("order_messages:guest", kwargs={"token": token}))
    return absolute(
        reverse(
            "order_messages:thread",
            kwargs={"number": conversation.order_number, "vendor_key": conversation.vendor_key},
        )
    )


def thread_root(conversation: Conversation) -> str:
    """A Message-ID no e-mail carries: every e-mail of the conversation refers to it, so
    mail clients thread them together even when some are missing."""
    return f"<om.conversation.{conversation.pk}@{message_id_domain()}>"


def order_of(notification: Notification) -> Order | None:
    """The store's order of the row's conversation, as the store has it now: asked for each
    e-mail, since who may read the conversation follows it."""
    return get_adapter().get_order(notification.conversation.order_number)


def earlier_message_ids(notification: Notification) -> list[str]:
    """The Message-IDs of the e-mails of the thread sent so far, newest first."""
    earlier = getattr(notification, "_earlier", None)
    if earlier is not None:
        return earlier[:REFERENCES_KEPT]
    return list(
        Notification.objects.filter(
            conversation_id=notification.conversation_id,
            email=notification.email,
            status=Notification.Status.SENT,
            # A digest goes out under its first row's Message-ID only, and is not part
            # of one conversation's thread anyway.
            digest=False,
        )
        .exclude(pk=notification.pk)
        .order_by("-sent_at")
        .values_list("message_id", flat=True)[:REFERENCES_KEPT]
    )


def thread_headers(notification: Notification) -> dict[str, str]:
    earlier = earlier_message_ids(notification)
    references = [thread_root(notification.conversation), *reversed(earlier)]
    return {"In-Reply-To": references[-1], "References": " ".join(references)}


def kinds_told(notification: Notification) -> tuple[str, ...]:
    """The kinds of message an e-mail of this row tells of."""
    if notification.kind == Notification.Kind.MESSAGE:
        return (Message.Kind.MESSAGE,)
    return Message.DISPUTE_KINDS


def in_range(notification: Notification) -> list[Message]:
    """The messages (or, for a dispute e-mail, the dispute events) of the row's seq range,
    oldest first."""
    found = getattr(notification, "_in_range", None)
    if found is None:
        found = list(
            Message.objects.filter(
                conversation_id=notification.conversation_id,
                kind__in=kinds_told(notification),
                seq__gte=notification.first_seq,
                seq__lte=notification.last_seq,
            )
            .select_related("dispute")
            .order_by("seq")
        )
    return found


def read_up_to(notification: Notification) -> int:
    """The last message the recipient (an account) has read in the conversation, 0: none."""
    seq = getattr(notification, "_read_up_to", _UNREAD)
    if seq is _UNREAD:
        seq = (
            Participant.objects.filter(
                conversation_id=notification.conversation_id, user_id=notification.user_id
            )
            .values_list("last_read_seq", flat=True)
            .first()
        )
    return seq or 0


def unread_messages(notification: Notification) -> list[Message]:
    """The messages of the batch the recipient still has to read, oldest first: for an
    account, those after what it has read and not its own; for a guest, not the
    customer's; for the store's orders address, not its staff's."""
    messages = in_range(notification)
    if notification.user_id is not None:
        seen = read_up_to(notification)
        return [m for m in messages if m.seq > seen and m.author_id != notification.user_id]
    if notification.audience == Audience.GUEST:
        return [m for m in messages if m.author_role != "customer"]
    if notification.audience == Audience.STORE:
        return [m for m in messages if m.author_role != "staff"]
    return messages


def dispute_events(notification: Notification) -> list[Message]:
    """The dispute events a dispute e-mail tells of, oldest first: one, or several that
    followed each other quickly and were folded into it (``queue_dispute_emails``). An
    opening after a closing in the list is a reopening (``event.reopens``)."""
    events = in_range(notification)
    for index, event in enumerate(events):
        event.reopens = index > 0 and event.kind == Message.Kind.DISPUTE_OPENED
    return events


def closed_since(events: Sequence[Message]) -> Message | None:
    """The closing of the dispute an e-mail's last event is about, when it came after that
    event: the e-mail then says how the dispute stands. The one who closed a dispute is
    not e-mailed of it, nor is the store's address when staff closed it, so an e-mail about
    an opening that went out after the closing (held back by folding, or by a worker
    behind) would otherwise leave them with a dispute that looks open."""
    last = events[-1]
    dispute = last.dispute
    if last.kind == Message.Kind.DISPUTE_CLOSED or dispute is None or dispute.is_active:
        return None
    return (
        Message.objects.filter(
            conversation_id=last.conversation_id,
            dispute=dispute,
            kind=Message.Kind.DISPUTE_CLOSED,
            seq__gt=last.seq,
        )
        .select_related("dispute")
        .order_by("seq")
        .first()
    )


def reminded_dispute(notification: Notification) -> Dispute | None:
    """The dispute a reminder is about, if it still waits for the seller's first answer:
    the conversation's open dispute that was reminded of. None when the seller answered
    meanwhile, or it was escalated or resolved (and one reopened since is not the one this
    reminder was written for: it has not been reminded of yet)."""
    found = getattr(notification, "_reminded", _UNREAD)
    if found is _UNREAD:
        found = reminded_disputes().filter(conversation_id=notification.conversation_id).first()
    return found


def reminded_disputes():
    """Open disputes that were reminded of and still wait for the seller, newest first."""
    return Dispute.objects.filter(
        status=Dispute.Status.OPEN,
        responded_at__isnull=True,
        respond_by__isnull=False,
        reminded_at__isnull=False,
    ).order_by("-opened_at", "-pk")


@dataclass(frozen=True)
class MailedFile:
    """A file as an e-mail lists it: its name, its size and a link for the recipient."""

    name: str
    size: int
    url: str


def file_url(notification: Notification, attachment_id: int) -> str:
    return file_link(
        attachment_id=attachment_id,
        email=notification.email,
        user_id=notification.user_id,
        # The orders address is no one's account: staff open the file signed in, as they
        # open the conversation from the same e-mail.
        store=notification.audience == Audience.STORE,
    )


def list_files(pairs: Sequence[tuple[Notification, Message]]) -> None:
    """Give each message its ``mailed_files``: its files, each with a link made for the
    recipient of its notification. Files are never attached to an e-mail: a link opens
    one only for that person, only while they may read the conversation, and expires.

    One query for all the messages of an e-mail, whatever their number; none when their
    conversations have no files, or their files were read with their batch."""
    messages = [message for _notification, message in pairs if not hasattr(message, "files")]
    with_files(messages, any_files=any(n.conversation.attachment_count for n, _m in pairs))
    for notification, message in pairs:
        message.mailed_files = [
            MailedFile(f.name, f.size, file_url(notification, f.pk)) for f in message.files
        ]


def may_still_read(notification: Notification, *, order: Order | None = None) -> bool:
    """Whether the recipient may still see the conversation (the policy asks the store,
    or looks at ``order`` when the caller just asked for it): a customer whose order went
    to someone else, a vendor's staff member who left, staff who lost the permission, a
    guest address the order no longer names get nothing."""
    return policy.may_receive_email(
        conversation=notification.conversation,
        user=notification.user,
        email=notification.email,
        is_store_inbox=notification.audience == Audience.STORE,
        order=order,
    )


def wants_message_emails(notification: Notification) -> bool:
    """Not muted for this conversation, and message e-mails not switched off."""
    muted = getattr(notification, "_muted", None)
    if muted is None:
        muted = Mute.objects.filter(
            conversation_id=notification.conversation_id, email__iexact=notification.email
        ).exists()
    return not muted and not switched_off(notification)


def header_line(text: str) -> str:
    """``text`` as one line of a header that says just that: control and format
    characters (NUL, line breaks of any kind, bidi overrides) become spaces, runs of
    spaces one; and text that looks like an RFC 2047 encoded word is itself encoded, or a
    mail client would decode it into something else."""
    line = " ".join("".join(ch if ch.isprintable() else " " for ch in text).split())
    if "=?" in line:
        line = Charset("utf-8").header_encode(line)
    return line


class Compat32Unfolded(Compat32):
    """Django's e-mail policy before 6.0 (``compat32``), which folds every header line
    through ``email.header.Header``. A line of printable ASCII that fits needs no folding
    and comes out as it went in: it is written at once. Most of an e-mail's twenty header
    lines are such, and folding them was a tenth of the worker's time per e-mail.
    ``tests/test_email.py`` checks that both policies write the same lines."""

    def _unfolded(self, name: str, value) -> str | None:
        if (
            isinstance(value, str)
            and value.isascii()
            and value.isprintable()
            and value == value.strip()
            and "  " not in value
            and len(name) + 2 + len(value) <= (self.max_line_length or 78)
        ):
            return f"{name}: {value}{self.linesep}"
        return None

    def fold(self, name, value):
        line = self._unfolded(name, value)
        return super().fold(name, value) if line is None else line

    def fold_binary(self, name, value):
        line = self._unfolded(name, value)
        return super().fold_binary(name, value) if line is None else line.encode("ascii")


compat32_unfolded = Compat32Unfolded()


class NotificationEmail(EmailMultiAlternatives):
    """The app's e-mails. A policy that parses header values (``email.policy.default``,
    which Django builds with from 6.0) decodes the encoded word ``header_line`` made of a
    subject, and would write its text out bare for mail clients to decode once more: such
    a subject is written encoded again."""

    def message(self, **kwargs):
        msg = super().message(**kwargs)
        if msg.policy is compat32:
            msg.policy = compat32_unfolded  # the generator writes every part with it
        if "=?" in str(self.subject) and hasattr(msg.policy, "header_factory"):
            text = str(msg["Subject"])
            del msg["Subject"]
            msg.set_raw("Subject", Header(text, "utf-8", header_name="Subject").encode())
        return msg


def check_address(address: str) -> None:
    """One address, nothing more: a stored address holding a second one (after a comma or
    a line break) must fail, not reach both."""
    try:
        validate_email(address)
    except ValidationError:
        raise ValueError(f"Not one valid e-mail address: {address!r}") from None


def render(template: str, context: dict) -> tuple[str, str, str]:
    """(subject, text, html) of ``order_messages/emails/<template>``."""
    base = f"order_messages/emails/{template}"
    subject = header_line(render_to_string(f"{base}_subject.txt", context))
    context = {**context, "subject": subject}
    return (
        subject,
        render_to_string(f"{base}.txt", context),
        render_to_string(f"{base}.html", context),
    )


def common_headers() -> dict[str, str]:
    # RFC 3834: tells auto-responders not to answer, so vacation replies cannot loop.
    return {"Auto-Submitted": "auto-generated", "X-Auto-Response-Suppress": "All"}


@dataclass
class Prepared:
    """An e-mail ready to send, or ``email is None`` when nothing needs saying any more."""

    email: NotificationEmail | None
    reason: str = ""


def prepare(notification: Notification) -> Prepared:
    """The e-mail for one notification row (not a digest)."""
    check_address(notification.email)
    conversation = notification.conversation
    adapter = get_adapter()
    # Asked once: the same order decides who may read and what the e-mail links to.
    order = order_of(notification)
    if not may_still_read(notification, order=order):
        return Prepared(None, "no longer allowed to read the conversation")
    messages, events, event, dispute, closing = [], [], None, None, None
    if notification.kind == Notification.Kind.MESSAGE:
        if not wants_message_emails(notification):
            return Prepared(None, "muted or switched off")
        messages = unread_messages(notification)
        if not messages:
            return Prepared(None, "already read")
        template = "message"
    elif notification.kind == Notification.Kind.DISPUTE_REMINDER:
        # Tells of no message: of the dispute as it stands when the e-mail goes out.
        dispute = reminded_dispute(notification)
        if dispute is None:
            return Prepared(None, "answered, or no longer open")
        template = "dispute_reminder"
    else:  # the dispute events: opened, escalated, closed
        events = dispute_events(notification)
        if not events:
            return Prepared(None, "no dispute event to tell of")
        event = events[0]
        dispute = event.dispute
        # Several events folded into one e-mail have a template of their own.
        template = "dispute_events" if len(events) > 1 else event.kind
        closing = closed_since(events)
    list_files([(notification, m) for m in messages or events])
    reply_to = ""
    if notification.audience != Audience.STORE:
        reply_to = make_reply_address(
            conversation_id=conversation.pk,
            user_id=notification.user_id,
            email=notification.email,
            today=timezone.localdate(),
        )
    unsubscribe_url = absolute(
        reverse(
            "order_messages:unsubscribe",
            kwargs={
                "token": make_unsubscribe_token(
                    conversation_id=conversation.pk, email=notification.email
                )
            },
        )
    )
    with translation.override(language_of(notification)):
        context = {
            "conversation": conversation,
            "recipient_name": notification.name or notification.email,
            "messages": messages,
            "event": event,
            "events": events,
            "dispute": dispute,
            "closed_since": closing,
            # Who must answer a dispute: the vendor, or the store in its own conversation.
            "seller": conversation.vendor_name,
            "store_name": adapter.get_store_name(),
            "messages_url": messages_link(notification, conversation, order),
            # The order page is the customer's; others have the Messages page only.
            "order_url": absolute(adapter.get_order_url(order))
            if order and notification.audience == Audience.CUSTOMER
            else "",
            "reply_enabled": bool(reply_to),
            "unsubscribe_url": unsubscribe_url,
            "preferences_url": absolute(reverse("order_messages:preferences"))
            if notification.user_id is not None
            else "",
        }
        subject, text, html = render(template, context)
    headers = {
        "Message-ID": notification.message_id,
        **thread_headers(notification),
        **common_headers(),
        "List-Unsubscribe": f"<{unsubscribe_url}>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
    }
    email = NotificationEmail(
        subject=subject,
        body=text,
        from_email=app_settings.FROM_EMAIL,
        to=[notification.email],
        reply_to=[reply_to] if reply_to else None,
        headers=headers,
    )
    email.attach_alternative(html, "text/html")
    return Prepared(email)


def prepare_digest(notifications: Sequence[Notification]) -> Prepared:
    """One e-mail listing what is unread in each conversation of the recipient's digest."""
    first = notifications[0]
    check_address(first.email)
    for notification in notifications[1:]:  # one recipient: read their preferences once
        notification._preferences = preferences_of(first)
    if switched_off(first):
        return Prepared(None, "switched off")
    sections = []
    for notification in notifications:
        allowed = may_still_read(notification, order=order_of(notification))
        if not (allowed and wants_message_emails(notification)):
            continue
        messages = unread_messages(notification)
        if messages:
            conversation = notification.conversation
            sections.append(
                {
                    "notification": notification,
                    "conversation": conversation,
                    "messages": messages,
                    "messages_url": messages_link(notification, conversation, None),
                }
            )
    if not sections:
        return Prepared(None, "already read")
    list_files([(s["notification"], m) for s in sections for m in s["messages"]])
    adapter = get_adapter()
    with translation.override(language_of(first)):
        context = {
            "recipient_name": first.name or first.email,
            "sections": sections,
            "total": sum(len(s["messages"]) for s in sections),
            "store_name": adapter.get_store_name(),
            "preferences_url": absolute(reverse("order_messages:preferences")),
        }
        subject, text, html = render("digest", context)
    email = NotificationEmail(
        subject=subject,
        body=text,
        from_email=app_settings.FROM_EMAIL,
        to=[first.email],
        headers={"Message-ID": first.message_id, **common_headers()},
    )
    email.attach_alternative(html, "text/html")
    return Prepared(email)
