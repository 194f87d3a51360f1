"""Outgoing webhooks for the host store (A3)."""

from .outbox import queue_webhooks

__all__ = ["queue_webhooks"]
