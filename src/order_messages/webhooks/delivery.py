"""Delivering webhooks (A3): the webhook channel of the delivery engine (``queue.py``).

Each due delivery is POSTed, signed in the Standard Webhooks format, to its endpoint, at
an address checked to be allowed (``destinations.py``). A retry sends the same
``webhook-id`` and body, signed anew.

What the delivery log keeps of an answer is for staff, who chose the URL: the HTTP status,
and a short excerpt of a 2xx answer only. Every failure to get an answer reads the same,
whether the connection was refused, timed out or broke, so that the log cannot be used to
map which ports answer where; the details go to the server log, for the operator.
"""

from __future__ import annotations

import http
import http.client
import json
import logging
import time
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

from .. import queue
from ..models import WebhookDelivery, WebhookEndpoint
from ..queue import FAILED, RETRY, SENT, Outcome, Report
from . import destinations, signing

__all__ = ["Report", "claim_due", "deliver_all", "deliver_due", "encode_body", "post"]

logger = logging.getLogger(__name__)

USER_AGENT = "django-order-messages"
EXCERPT_LENGTH = 200  # characters of a 2xx answer kept in the log
NO_ANSWER = "No answer: could not connect, or the receiver did not answer in time."
INACTIVE = "The endpoint is inactive."


@dataclass
class Answer:
    """What came back from one POST. ``status`` is None when nothing did."""

    status: int | None
    excerpt: str = ""
    error: str = ""
    # The destination was refused: nothing was sent, and trying again will not help.
    refused: bool = False

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


# -- the request --------------------------------------------------------------------------


def encode_body(payload: dict) -> bytes:
    """The body as sent. Sorted keys: the same bytes on every try, whatever order the
    database gives the JSON back in (PostgreSQL's jsonb does not keep it)."""
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def request_headers(*, row: WebhookDelivery, body: bytes) -> dict[str, str]:
    return {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        **signing.signed_headers(
            msg_id=row.event_id, secret=row.endpoint.secret, body=body, timestamp=int(time.time())
        ),
    }


def _status_text(status: int) -> str:
    # Our own words for the status, not the receiver's reason phrase.
    try:
        return f"HTTP {status} {http.HTTPStatus(status).phrase}"
    except ValueError:
        return f"HTTP {status}"


def post(row: WebhookDelivery, *, timeout: float) -> Answer:
    """POST the delivery's payload, signed, to its endpoint. Never raises for the
    receiver's faults: they are in the answer. Redirects are not followed: a redirected
    POST is not a delivery, and its target was not checked."""
    url = row.endpoint.url
    body = encode_body(row.payload)
    try:
        destinations.split_url(url)
    except ValueError as error:  # not an http(s) URL
        return Answer(None, error=str(error), refused=True)
    try:
        connection = destinations.open_connection(url, timeout=timeout)
    except destinations.DestinationRefused as refused:
        return Answer(None, error=str(refused), refused=True)
    except OSError as error:  # also a certificate that does not fit (a ValueError too)
        logger.warning("Webhook to %s: no connection: %s", url, queue.error_text(error))
        return Answer(None, error=NO_ANSWER)
    parts = urlsplit(url)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    try:
        connection.request("POST", target, body=body, headers=request_headers(row=row, body=body))
        response = connection.getresponse()
        answer = Answer(response.status)
        if answer.ok:
            raw = response.read(EXCERPT_LENGTH * 4)
            answer.excerpt = raw.decode("utf-8", "replace")[:EXCERPT_LENGTH]
        else:
            answer.error = _status_text(response.status)
        return answer
    except (OSError, http.client.HTTPException) as error:
        logger.warning("Webhook to %s: no answer: %s", url, queue.error_text(error))
        return Answer(None, error=NO_ANSWER)
    finally:
        connection.close()


# -- the channel --------------------------------------------------------------------------------


class WebhookChannel(queue.Channel):
    model = WebhookDelivery
    settings_prefix = "WEBHOOK"
    sent_status = WebhookDelivery.Status.DELIVERED
    sent_at_field = "delivered_at"
    noun = "Webhook"

    def __init__(self):
        # Endpoints that did not answer in this round: their other rows are not tried now,
        # so one receiver that is down costs one timeout per round, not one per delivery.
        self.unreachable: set[int] = set()
        # Endpoints that answered 410 Gone in this round.
        self.gone: set[int] = set()

    def rows(self, claim):
        return super().rows(claim).select_related("endpoint")

    def describe(self, batch):
        return batch[0].endpoint.url

    def send(self, batch) -> Outcome:
        (row,) = batch
        nothing = {"response_status": None, "response_excerpt": ""}
        if not row.endpoint.active or row.endpoint_id in self.gone:
            # Deactivated by staff, or by a 410 Gone, after the row was written.
            return Outcome(FAILED, INACTIVE, counts_attempt=False, changes=nothing)
        if row.endpoint_id in self.unreachable:
            return Outcome(RETRY, f"Not tried: {NO_ANSWER}", changes=nothing)
        answer = post(row, timeout=self.setting("TIMEOUT"))
        changes = {"response_status": answer.status, "response_excerpt": answer.excerpt}
        if answer.ok:
            return Outcome(SENT, changes=changes)
        if answer.refused:
            return Outcome(FAILED, answer.error, changes=changes)
        if answer.status is None:
            self.unreachable.add(row.endpoint_id)
        elif answer.status == 410:
            # Gone: the receiver asks never to be called again.
            self.gone.add(row.endpoint_id)
            WebhookEndpoint.objects.filter(pk=row.endpoint_id).update(active=False)
            logger.warning("Webhook endpoint %s answered 410 Gone: deactivated", row.endpoint.url)
            return Outcome(FAILED, answer.error, changes=changes)
        return Outcome(RETRY, answer.error, changes=changes)


def claim_due(*, limit: int, now: datetime) -> tuple[str, list[int]]:
    """Take up to ``limit`` due deliveries for this worker. Returns (claim, row ids)."""
    channel = WebhookChannel()
    return queue.claim_due(
        channel.model, limit=limit, now=now, hold_seconds=channel.setting("CLAIM_SECONDS")
    )


def deliver_due(*, limit: int = 100, now: datetime | None = None) -> Report:
    """POST what is due, up to ``limit`` rows. Returns what happened to them."""
    return queue.deliver_due(WebhookChannel(), limit=limit, now=now)


def deliver_all(*, now: datetime | None = None) -> Report:
    """Deliver until nothing is due (tests, ``--once``)."""
    return queue.deliver_all(WebhookChannel, now=now)
