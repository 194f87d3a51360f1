"""The store's webhook endpoints (A3) and their delivery log, for the store's staff: what
the admin offers, with the admin's validation (``forms.WebhookEndpointForm``): http(s)
URLs only, and none on the store's own network."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from ninja import Field, Path, Query, Router, Schema, Status
from ninja.errors import ValidationError

from .. import actions, queries
from ..actions.delivery import resend_webhook_deliveries
from ..forms import WebhookEndpointForm
from ..models import WebhookDelivery
from ..queries.webhooks import webhook_delivery_page, webhook_endpoint_page
from ..webhooks.events import EVENT_TYPES
from .cursors import check_cursor
from .errors import documented

router = Router(tags=["Webhook endpoints"])

EndpointId = Annotated[
    int,
    Path(ge=1, le=2**63 - 1, description="The endpoint's id.", examples=[2]),
]
EventType = Literal[tuple(key for key, _label in EVENT_TYPES)]  # type: ignore[misc]
DeliveryStatus = Literal[tuple(WebhookDelivery.Status.values)]  # type: ignore[misc]
EVENTS_DOC = "Event types to send; empty: all of them, including types added later."
URL_DOC = (
    "http(s); without a scheme, https is meant. An address on the store's own network "
    "(loopback, private, link-local …) is refused: destination_not_allowed in details."
)


class WebhookEndpointOut(Schema):
    id: int
    url: str
    description: str
    events: list[str] = Field(description=EVENTS_DOC)
    active: bool = Field(description="False: events are not sent to it (paused).")
    secret_hint: str = Field(
        description="The secret's last four characters, to tell which one the receiver has."
    )
    created_at: datetime


class WebhookEndpointWithSecret(WebhookEndpointOut):
    secret: str = Field(
        description="Signs every delivery (Standard Webhooks: whsec_ and base64). Shown "
        "in the answers that make it (create, rotate) only: keep it then."
    )


class WebhookEndpointPage(Schema):
    items: list[WebhookEndpointOut] = Field(description="The newest first.")
    next_cursor: str | None = Field(
        description="Pass as ``after`` for the next page; null on the last page."
    )


class WebhookEndpointIn(Schema):
    url: str = Field(description=URL_DOC, max_length=500)
    description: str = Field("", max_length=200)
    events: list[EventType] = Field(default_factory=list, description=EVENTS_DOC)
    active: bool = True
    secret: str = Field(
        "",
        max_length=100,
        description="Empty: one is made. Else whsec_ and the base64 of 24 to 64 random "
        "bytes (invalid_secret in details).",
    )


class WebhookEndpointUpdate(Schema):
    url: str | None = Field(
        None, max_length=500, description="Null or absent: as it is. " + URL_DOC
    )
    description: str | None = Field(None, max_length=200, description="Null: as it is.")
    events: list[EventType] | None = Field(None, description="Null: as it is. " + EVENTS_DOC)
    active: bool | None = Field(None, description="Null: as it is.")


class WebhookDeliveryOut(Schema):
    id: int
    event_id: str = Field(description="The webhook-id header the receiver got.")
    event_type: str
    status: DeliveryStatus
    attempts: int
    due_at: datetime = Field(description="When it is (or was last) due to be sent.")
    created_at: datetime
    delivered_at: datetime | None
    response_status: int | None = Field(description="The receiver's HTTP status, if any.")
    response_excerpt: str = Field(description="The start of a 2xx answer.")
    last_error: str
    payload: dict = Field(description="The event, as sent.")


class WebhookDeliveryPage(Schema):
    items: list[WebhookDeliveryOut] = Field(description="The newest first.")
    next_cursor: str | None


class RedeliverIn(Schema):
    ids: list[Annotated[int, Field(ge=1, le=2**63 - 1)]] = Field(
        min_length=1, max_length=500, description="Deliveries of this endpoint to send again."
    )


class RedeliverOut(Schema):
    resent: int = Field(description="Failed deliveries queued again, same webhook-id and body.")
    inactive: int = Field(description="Failed ones not resent: the endpoint is paused.")


def _out(endpoint, *, with_secret: bool = False) -> dict:
    data = {
        "id": endpoint.pk,
        "url": endpoint.url,
        "description": endpoint.description,
        "events": list(endpoint.events or []),
        "active": endpoint.active,
        "secret_hint": endpoint.secret[-4:],
        "created_at": endpoint.created_at,
    }
    if with_secret:
        data["secret"] = endpoint.secret
    return data


def _validated(data: dict, *, instance=None) -> dict:
    """The admin's form over the given fields: its cleaned values, or 422 with each
    field's error (its code, such as destination_not_allowed, in the message)."""
    form = WebhookEndpointForm(data=data, instance=instance)
    for name in list(form.fields):
        if name not in data:  # what an update leaves out stays as it is
            del form.fields[name]
    if not form.is_valid():
        raise ValidationError(
            [
                {"loc": ("body", "payload", name), "msg": " ".join(messages)}
                for name, messages in form.errors.items()
            ]
        )
    return {name: form.cleaned_data[name] for name in data}


@router.get(
    "",
    **documented({200: WebhookEndpointPage}, 401, 403, 422),
    operation_id="listWebhookEndpoints",
    summary="Webhook endpoints",
)
def list_endpoints(
    request,
    after: Annotated[
        str | None, Query(description="The next_cursor of the previous page.", max_length=100)
    ] = None,
    limit: Annotated[int, Query(ge=1, le=100, description="Endpoints per page.")] = 50,
):
    """The URLs that hear of new messages and disputes. Store staff only (403 for others)."""
    queries.check_manages_webhooks(user=request.auth)
    check_cursor(after, segments="w")
    rows, next_cursor = webhook_endpoint_page(cursor=after, size=limit)
    return {"items": [_out(row) for row in rows], "next_cursor": next_cursor}


@router.post(
    "",
    **documented({201: WebhookEndpointWithSecret}, 400, 401, 403, 413, 422),
    operation_id="createWebhookEndpoint",
    summary="Add a webhook endpoint",
)
def create_endpoint(request, payload: WebhookEndpointIn):
    """A new endpoint, with its secret in this answer. The URL is checked as the admin
    checks it; the worker checks its address again before every delivery. Store staff
    only (403)."""
    queries.check_manages_webhooks(user=request.auth)
    values = _validated(payload.model_dump())
    endpoint = actions.create_webhook_endpoint(**values)
    return Status(201, _out(endpoint, with_secret=True))


@router.get(
    "/{endpoint_id}",
    **documented({200: WebhookEndpointOut}, 401, 403, 404, 422),
    operation_id="getWebhookEndpoint",
    summary="A webhook endpoint",
)
def get_endpoint(request, endpoint_id: EndpointId):
    """One endpoint; its secret only by its last characters."""
    return _out(queries.access_webhook_endpoint(user=request.auth, endpoint_id=endpoint_id))


@router.patch(
    "/{endpoint_id}",
    **documented({200: WebhookEndpointOut}, 400, 401, 403, 404, 413, 422),
    operation_id="updateWebhookEndpoint",
    summary="Change a webhook endpoint",
)
def update_endpoint(request, endpoint_id: EndpointId, payload: WebhookEndpointUpdate):
    """Change its URL, description, events or pause it (``active``); what is left out or
    null stays. The secret is changed only by ``rotateWebhookSecret``."""
    endpoint = queries.access_webhook_endpoint(user=request.auth, endpoint_id=endpoint_id)
    values = _validated(payload.model_dump(exclude_none=True), instance=endpoint)
    endpoint = actions.update_webhook_endpoint(endpoint=endpoint, **values)
    return _out(endpoint)


@router.post(
    "/{endpoint_id}/rotate-secret",
    **documented({200: WebhookEndpointWithSecret}, 401, 403, 404, 422),
    operation_id="rotateWebhookSecret",
    summary="Make a new secret",
)
def rotate_secret(request, endpoint_id: EndpointId):
    """A new secret, in this answer only. Every delivery from now on is signed with it,
    retries of earlier events too: give it to the receiver at once."""
    endpoint = queries.access_webhook_endpoint(user=request.auth, endpoint_id=endpoint_id)
    endpoint = actions.rotate_webhook_secret(endpoint=endpoint)
    return _out(endpoint, with_secret=True)


@router.delete(
    "/{endpoint_id}",
    **documented({204: None}, 401, 403, 404, 422),
    operation_id="deleteWebhookEndpoint",
    summary="Remove a webhook endpoint",
)
def delete_endpoint(request, endpoint_id: EndpointId):
    """Remove it with its delivery log; deliveries still queued for it are not sent."""
    endpoint = queries.access_webhook_endpoint(user=request.auth, endpoint_id=endpoint_id)
    actions.delete_webhook_endpoint(endpoint=endpoint)
    return Status(204, None)


@router.get(
    "/{endpoint_id}/deliveries",
    **documented({200: WebhookDeliveryPage}, 401, 403, 404, 422),
    operation_id="listWebhookDeliveries",
    summary="An endpoint's delivery log",
)
def list_deliveries(
    request,
    endpoint_id: EndpointId,
    status: Annotated[
        DeliveryStatus | None, Query(description="Only the deliveries in this state.")
    ] = None,
    after: Annotated[
        str | None, Query(description="The next_cursor of the previous page.", max_length=100)
    ] = None,
    limit: Annotated[int, Query(ge=1, le=100, description="Deliveries per page.")] = 50,
):
    """Every event sent (or to be sent) to the endpoint, with the receiver's answer or
    the error, as the admin's delivery log shows them."""
    endpoint = queries.access_webhook_endpoint(user=request.auth, endpoint_id=endpoint_id)
    check_cursor(after, segments="d")
    rows, next_cursor = webhook_delivery_page(
        endpoint=endpoint, status=status or "", cursor=after, size=limit
    )
    return {
        "items": [
            {
                "id": row.pk,
                "event_id": row.event_id,
                "event_type": row.event_type,
                "status": row.status,
                "attempts": row.attempts,
                "due_at": row.due_at,
                "created_at": row.created_at,
                "delivered_at": row.delivered_at,
                "response_status": row.response_status,
                "response_excerpt": row.response_excerpt,
                "last_error": row.last_error,
                "payload": row.payload,
            }
            for row in rows
        ],
        "next_cursor": next_cursor,
    }


@router.post(
    "/{endpoint_id}/redeliver",
    **documented({200: RedeliverOut}, 400, 401, 403, 404, 413, 422),
    operation_id="redeliverWebhooks",
    summary="Deliver failed webhooks again",
)
def redeliver(request, endpoint_id: EndpointId, payload: RedeliverIn):
    """The admin's "Deliver the failed webhooks again": those of the given deliveries
    that failed are queued again, with the same webhook-id and body, unless the endpoint
    is paused. Ids of other endpoints' deliveries are ignored."""
    endpoint = queries.access_webhook_endpoint(user=request.auth, endpoint_id=endpoint_id)
    resent = resend_webhook_deliveries(deliveries=endpoint.deliveries.filter(pk__in=payload.ids))
    return {"resent": resent.count, "inactive": resent.inactive}
