from __future__ import annotations

import logging
from dataclasses import dataclass

from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.translation import gettext

from ..adapter import STORE, get_adapter
from ..conf import app_settings
from ..guest import make_guest_token
from ..models import Message, Participant, Role

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Recipient:
    email: str
    name: str
    is_customer: bool = False
    is_guest: bool = False


def absolute(path: str) -> str:
    if path.startswith(("http://", "https://")):
        return path
    return app_settings.SITE_URL.rstrip("/") + path


def store_inbox_wants(message: Message) -> bool:
    """B4: the store's orders address hears of a message not written by store staff when
    the conversation is with the store, the message is a dispute event, or a dispute is open.
    """
    if not app_settings.STORE_EMAIL or message.author_role == Role.STAFF:
        return False
    conversation = message.conversation
    return (
        conversation.vendor_key == STORE
        or message.kind != Message.Kind.MESSAGE
        or conversation.open_dispute_id is not None
    )


def recipients_of(message: Message) -> list[Recipient]:
    conversation = message.conversation
    participants = (
        Participant.objects.filter(conversation=conversation, user__is_active=True)
        .exclude(user__email="")
        .select_related("user")
    )
    if message.author_id is not None:
        participants = participants.exclude(user_id=message.author_id)
    adapter = get_adapter()
    found = [
        Recipient(p.user.email, adapter.get_display_name(p.user), p.role == Role.CUSTOMER)
        for p in participants
    ]
    if (
        conversation.customer_id is None
        and conversation.customer_email
        and message.author_role != Role.CUSTOMER
    ):
        found.append(Recipient(conversation.customer_email, conversation.customer_name, True, True))
    if store_inbox_wants(message):
        found.append(Recipient(app_settings.STORE_EMAIL, adapter.get_store_name()))
    unique = {r.email.lower(): r for r in found}
    return list(unique.values())


def subject_for(message: Message) -> str:
    number = message.conversation.order_number
    if message.kind == Message.Kind.DISPUTE_OPENED:
        return gettext("Order #%(number)s: dispute opened") % {"number": number}
    if message.kind == Message.Kind.DISPUTE_CLOSED:
        return gettext("Order #%(number)s: dispute closed") % {"number": number}
    return gettext("Order #%(number)s: new message") % {"number": number}


def notify_message(*, message_id: int) -> int:
    """Send the e-mails for one message. Returns how many were sent."""
    message = Message.objects.select_related("conversation").get(pk=message_id)
    conversation = message.conversation
    adapter = get_adapter()
    order = adapter.get_order(conversation.order_number)
    thread_path = reverse(
        "order_messages:thread",
        kwargs={"number": conversation.order_number, "vendor_key": conversation.vendor_key},
    )
    sent = 0
    for recipient in recipients_of(message):
        messages_url = absolute(thread_path)
        if recipient.is_guest and order is not None:
            messages_url = absolute(
                reverse("order_messages:guest", kwargs={"token": make_guest_token(order)})
            )
        context = {
            "message": message,
            "conversation": conversation,
            "recipient": recipient,
            "store_name": adapter.get_store_name(),
            "messages_url": messages_url,
            # The order page is the customer's; others have the Messages page only.
            "order_url": absolute(adapter.get_order_url(order))
            if order and recipient.is_customer and not recipient.is_guest
            else "",
        }
        email = EmailMultiAlternatives(
            subject=subject_for(message),
            body=render_to_string("order_messages/emails/message.txt", context),
            from_email=app_settings.FROM_EMAIL,
            to=[recipient.email],
        )
        email.attach_alternative(
            render_to_string("order_messages/emails/message.html", context), "text/html"
        )
        try:
            email.send()
            sent += 1
        except Exception:
            # The durable outbox (retries) replaces this; until then one bad address or a
            # mail server hiccup must not stop the others or the request.
            logger.exception("Could not send message e-mail to %s", recipient.email)
    return sent
