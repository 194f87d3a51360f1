"""The only write paths. Each action is one transaction that writes the rows, the
counters and the notifications together, and sends its side effects after commit."""

from .attachments import delete_abandoned_uploads, discard_upload, upload_attachment
from .bulk import mark_conversations
from .conversations import update_order_access, update_vendor_access
from .dashboard import mark_dashboard_seen
from .delivery import mark_inbound_mail_handled, resend_notifications, resend_webhook_deliveries
from .disputes import (
    close_dispute,
    escalate_overdue_disputes,
    open_dispute,
    remind_sellers,
)
from .messages import mark_read, mark_unread, post_message
from .metrics import reset_responses, roll_up_all, roll_up_responses
from .notifications import mute_conversation, save_email_preferences, unmute_conversation
from .saved_replies import create_saved_reply, delete_saved_reply, update_saved_reply
from .tokens import create_token, revoke_token
from .webhooks import (
    create_webhook_endpoint,
    delete_webhook_endpoint,
    rotate_webhook_secret,
    update_webhook_endpoint,
)

__all__ = [
    "create_webhook_endpoint",
    "delete_webhook_endpoint",
    "rotate_webhook_secret",
    "update_webhook_endpoint",
    "close_dispute",
    "create_saved_reply",
    "create_token",
    "delete_saved_reply",
    "delete_abandoned_uploads",
    "escalate_overdue_disputes",
    "remind_sellers",
    "reset_responses",
    "roll_up_all",
    "roll_up_responses",
    "discard_upload",
    "mark_conversations",
    "mark_dashboard_seen",
    "mark_inbound_mail_handled",
    "mark_read",
    "mark_unread",
    "open_dispute",
    "post_message",
    "resend_notifications",
    "resend_webhook_deliveries",
    "revoke_token",
    "mute_conversation",
    "save_email_preferences",
    "unmute_conversation",
    "update_order_access",
    "update_saved_reply",
    "update_vendor_access",
    "upload_attachment",
]
