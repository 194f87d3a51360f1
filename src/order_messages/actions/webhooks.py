"""The store's webhook endpoints (A3), registered by store staff in the admin or through
the API. Values come validated (``forms.WebhookEndpointForm``, the admin's form)."""

from __future__ import annotations

from collections.abc import Sequence

from ..models import WebhookEndpoint
from ..webhooks import signing
from .messages import check_text


def create_webhook_endpoint(
    *,
    url: str,
    description: str = "",
    events: Sequence[str] = (),
    active: bool = True,
    secret: str = "",
) -> WebhookEndpoint:
    """A new endpoint; without a ``secret``, one is made. Events happening from now on
    are delivered to it."""
    for text in (url, description):
        check_text(text)
    return WebhookEndpoint.objects.create(
        url=url,
        description=description,
        events=list(events),
        active=active,
        secret=secret or signing.new_secret(),
    )


def update_webhook_endpoint(
    *,
    endpoint: WebhookEndpoint,
    url: str | None = None,
    description: str | None = None,
    events: Sequence[str] | None = None,
    active: bool | None = None,
) -> WebhookEndpoint:
    """Change what is given (None: as it is). Deliveries already queued go to the URL the
    worker reads when it sends them; a paused endpoint keeps its queue."""
    changes = {
        "url": url,
        "description": description,
        "events": None if events is None else list(events),
        "active": active,
    }
    changes = {name: value for name, value in changes.items() if value is not None}
    for text in (url or "", description or ""):
        check_text(text)
    for name, value in changes.items():
        setattr(endpoint, name, value)
    if changes:
        endpoint.save(update_fields=list(changes))
    return endpoint


def rotate_webhook_secret(*, endpoint: WebhookEndpoint) -> WebhookEndpoint:
    """A new secret: every delivery from now on, retries of earlier events included, is
    signed with it, so the receiver must switch to it at once."""
    endpoint.secret = signing.new_secret()
    endpoint.save(update_fields=["secret"])
    return endpoint


def delete_webhook_endpoint(*, endpoint: WebhookEndpoint) -> None:
    """Remove the endpoint with its delivery log; its queued deliveries are not sent."""
    endpoint.delete()
