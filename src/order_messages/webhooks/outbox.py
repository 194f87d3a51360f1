"""Writing webhook deliveries in the transaction of the change they tell of (A3)."""

from __future__ import annotations

import uuid

from django.utils import timezone

from ..models import WebhookDelivery, WebhookEndpoint
from .events import event_data


def queue_webhooks(
    *, event_type: str, conversation, message=None, dispute=None, files=None
) -> list[WebhookDelivery]:
    """Write one WebhookDelivery per active endpoint that wants ``event_type``. ``files``:
    the attachments the event tells of (``event_data``).

    Runs inside the action's transaction, so a rolled-back change sends nothing. Costs one
    query when no endpoint wants the event, two when some do."""
    endpoint_ids = [
        pk
        for pk, events in WebhookEndpoint.objects.filter(active=True).values_list("pk", "events")
        if not events or event_type in events
    ]
    if not endpoint_ids:
        return []
    now = timezone.now()
    data = event_data(conversation=conversation, message=message, dispute=dispute, files=files)
    rows = []
    for endpoint_id in endpoint_ids:
        # The unique id of this delivery, sent as Webhook-Id on every try: receivers dedupe
        # on it.
        event_id = uuid.uuid4().hex
        payload = {"id": event_id, "type": event_type, "created_at": now.isoformat(), "data": data}
        rows.append(
            WebhookDelivery(
                endpoint_id=endpoint_id,
                event_id=event_id,
                event_type=event_type,
                payload=payload,
                due_at=now,
            )
        )
    return WebhookDelivery.objects.bulk_create(rows)
