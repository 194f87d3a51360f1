"""The events a webhook endpoint can hear of, and what their payloads say (A3)."""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext_lazy as _

MESSAGE_POSTED = "message.posted"
DISPUTE_OPENED = "dispute.opened"
DISPUTE_ESCALATED = "dispute.escalated"
DISPUTE_CLOSED = "dispute.closed"
# Sent with dispute.closed, for receivers that act on the outcome (a refund to issue).
DISPUTE_RESOLVED = "dispute.resolved"

EVENT_TYPES = [
    (MESSAGE_POSTED, _("Message posted")),
    (DISPUTE_OPENED, _("Dispute opened")),
    (DISPUTE_ESCALATED, _("Dispute escalated")),
    (DISPUTE_CLOSED, _("Dispute closed")),
    (DISPUTE_RESOLVED, _("Dispute resolved")),
]


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def describe_files(files) -> list[dict]:
    """What an event says of a message's files: what they are, never their contents or a
    link (a link would open them for whoever holds the event, past the policy)."""
    return [
        {
            "id": f.pk,
            "name": f.name,
            "content_type": f.content_type,
            "size": f.size,
            "width": f.width,
            "height": f.height,
        }
        for f in files
    ]


def files_of(message) -> list:
    # The posting action gives the message its files; a message read back has to ask.
    files = getattr(message, "files", None)
    return files if files is not None else list(message.attachments.all())


def event_data(*, conversation, message=None, dispute=None, files=None) -> dict:
    """The ``data`` of an event, from the rows in hand (no queries).

    ``files``: the attachments of the message (``message.files`` when left out), or for
    ``dispute.opened`` those that came with the reason. The customer's e-mail address is
    left out on purpose: the receiver is the host store, which finds the customer by the
    order number."""
    # The title in the site's language, whatever the language of the request that acted.
    with translation.override(settings.LANGUAGE_CODE):
        title = str(conversation.title)
    data = {
        "conversation": {
            "id": conversation.pk,
            "order_number": conversation.order_number,
            "vendor_key": conversation.vendor_key,
            "vendor_name": conversation.vendor_name,
            "title": title,
        }
    }
    if message is not None:
        data["message"] = {
            "seq": message.seq,
            "kind": message.kind,
            "author_role": message.author_role,
            "author_name": message.author_name,
            "body": message.body,
            "created_at": _iso(message.created_at),
            "attachments": describe_files(files if files is not None else files_of(message)),
        }
    if dispute is not None:
        with translation.override(settings.LANGUAGE_CODE):
            reason_label = dispute.reason_label
        data["dispute"] = {
            "id": dispute.pk,
            "status": dispute.status,
            "reason_code": dispute.reason_code,
            "reason_label": reason_label,
            "requested": dispute.requested,
            "reason": dispute.reason,
            "opened_by_name": dispute.opened_by_name,
            "opened_at": _iso(dispute.opened_at),
            "respond_by": _iso(dispute.respond_by),
            "responded_at": _iso(dispute.responded_at),
            "escalated_at": _iso(dispute.escalated_at),
            "closed_by_name": dispute.closed_by_name,
            "closed_at": _iso(dispute.closed_at),
            # "" until it is resolved.
            "outcome": dispute.outcome,
            "resolution_note": dispute.resolution_note,
        }
        if files is not None:
            data["dispute"]["attachments"] = describe_files(files)
    return data
