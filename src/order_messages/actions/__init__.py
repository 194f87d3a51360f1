"""The only write paths. Each action is one transaction that writes the rows, the
counters and the notifications together, and sends its side effects after commit."""

from .disputes import close_dispute, open_dispute
from .messages import mark_read, post_message

__all__ = ["close_dispute", "mark_read", "open_dispute", "post_message"]
