"""Writing webhook deliveries in the transaction of the change they tell of (A3)."""

from __future__ import annotations


def queue_webhooks(*, event_type: str, conversation, message=None, dispute=None) -> None:
    """Write one WebhookDelivery per active endpoint that wants ``event_type``.

    Runs inside the action's transaction, so a rolled-back change sends nothing."""
    # Filled in with the endpoint model's delivery rows.
