"""The events a webhook endpoint can hear of, and what their payloads say (A3)."""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext_lazy as _

MESSAGE_POSTED = "message.posted"
DISPUTE_OPENED = "dispute.opened"
DISPUTE_CLOSED = "dispute.closed"

EVENT_TYPES = [
    (MESSAGE_POSTED, _("Message posted")),
    (DISPUTE_OPENED, _("Dispute opened")),
    (DISPUTE_CLOSED, _("Dispute closed")),
]


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def event_data(*, conversation, message=None, dispute=None) -> dict:
    """The ``data`` of an event, from the rows in hand (no queries).

    The customer's e-mail address is left out on purpose: the receiver is the host store,
    which finds the customer by the order number."""
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
        }
    if dispute is not None:
        data["dispute"] = {
            "id": dispute.pk,
            "status": dispute.status,
            "reason": dispute.reason,
            "opened_by_name": dispute.opened_by_name,
            "opened_at": _iso(dispute.opened_at),
            "closed_by_name": dispute.closed_by_name,
            "closed_at": _iso(dispute.closed_at),
        }
    return data
