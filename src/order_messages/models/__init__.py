"""The app's tables: conversations and what hangs off them, and the notification outbox."""

from .attachments import Attachment
from .conversations import (
    NAME_LENGTH,
    Conversation,
    DashboardSeen,
    Dispute,
    Message,
    Participant,
    ResponseDay,
    Role,
    SavedReply,
    UnreadCounter,
    Watermark,
)
from .integrations import ApiToken, IdempotentRequest, WebhookDelivery, WebhookEndpoint
from .notifications import InboundMail, Mute, Notification, NotificationSettings

__all__ = [
    "NAME_LENGTH",
    "ApiToken",
    "Attachment",
    "IdempotentRequest",
    "WebhookDelivery",
    "WebhookEndpoint",
    "Conversation",
    "DashboardSeen",
    "Dispute",
    "InboundMail",
    "Message",
    "Mute",
    "Notification",
    "NotificationSettings",
    "Participant",
    "ResponseDay",
    "Role",
    "SavedReply",
    "UnreadCounter",
    "Watermark",
]
