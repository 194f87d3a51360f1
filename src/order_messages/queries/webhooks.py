"""The store's webhook endpoints and their delivery log, for store staff (A3)."""

from __future__ import annotations

from ..models import WebhookDelivery, WebhookEndpoint
from .cursors import newest_first_page


def webhook_endpoint_page(*, cursor: str | None = None, size: int = 50):
    """(endpoints, next cursor): every endpoint, the newest first."""
    return newest_first_page(WebhookEndpoint.objects.all(), segment="w", cursor=cursor, size=size)


def webhook_delivery_page(
    *, endpoint: WebhookEndpoint, status: str = "", cursor: str | None = None, size: int = 50
):
    """(deliveries, next cursor): one endpoint's delivery log, the newest first;
    ``status``: only those in it."""
    deliveries = WebhookDelivery.objects.filter(endpoint=endpoint)
    if status:
        deliveries = deliveries.filter(status=status)
    return newest_first_page(deliveries, segment="d", cursor=cursor, size=size)
