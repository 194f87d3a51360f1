"""The only write paths. Each action is one transaction that writes the rows, the
counters and the notifications together, and sends its side effects after commit."""

from .dashboard import mark_dashboard_seen
from .disputes import close_dispute, open_dispute
from .messages import mark_read, mark_unread, post_message
from .notifications import mute_conversation, save_email_preferences, unmute_conversation

__all__ = [
    "close_dispute",
    "mark_dashboard_seen",
    "mark_read",
    "mark_unread",
    "open_dispute",
    "post_message",
    "mute_conversation",
    "save_email_preferences",
    "unmute_conversation",
]
