"""E-mail about new messages and dispute events (S7, S9, B4), sent after commit."""

from .email import notify_message

__all__ = ["notify_message"]
