"""Delivering webhooks (A3): claim due rows, POST them signed, record; retry what failed.

Mirrors the e-mail worker (``notifications/worker.py``): on PostgreSQL each worker claims
its rows with ``SELECT … FOR UPDATE SKIP LOCKED``; a claim lapses after
``WEBHOOK_CLAIM_SECONDS``, so the rows of a worker that died are sent by another, with the
same Webhook-Id and body. Just before each POST the worker renews its claim on that row,
so a slow receiver cannot let the claim of a row still waiting in the batch lapse and be
sent twice.
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import json
import logging
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from django.utils import timezone

from .. import queue
from ..conf import app_settings
from ..models import WebhookDelivery, WebhookEndpoint

logger = logging.getLogger(__name__)

Status = WebhookDelivery.Status

USER_AGENT = "django-order-messages"
EXCERPT_LENGTH = 500  # characters of the response body kept in the log


@dataclass
class Report:
    delivered: int = 0
    retrying: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)

    @property
    def handled(self) -> int:
        return self.delivered + self.retrying + self.failed


@dataclass
class Answer:
    """What came back from one POST. ``status`` is None when nothing did (a timeout, a
    refused connection)."""

    status: int | None
    excerpt: str = ""
    error: str = ""

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


# -- the request --------------------------------------------------------------------------


def encode_body(payload: dict) -> bytes:
    """The body as sent. Sorted keys: the same bytes on every try, whatever order the
    database gives the JSON back in (PostgreSQL's jsonb does not keep it)."""
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def sign(*, secret: str, timestamp: int, body: bytes) -> str:
    """``v1=`` and the hex HMAC-SHA256 of ``"{timestamp}.{body}"`` keyed with the secret."""
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"v1={digest.hexdigest()}"


def signed_headers(*, event_id: str, secret: str, body: bytes) -> dict[str, str]:
    timestamp = int(time.time())
    return {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "Webhook-Id": event_id,
        "Webhook-Timestamp": str(timestamp),
        "Webhook-Signature": sign(secret=secret, timestamp=timestamp, body=body),
    }


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    # urllib would turn a redirected POST into a GET without the body, and the GET's 200
    # would count as delivered. A redirect is an answer like any other non-2xx.
    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


_opener = urllib.request.build_opener(_NoRedirects)


def _excerpt(response) -> str:
    try:
        raw = response.read(EXCERPT_LENGTH * 4)
    except (OSError, http.client.HTTPException):
        return ""
    return raw.decode("utf-8", "replace")[:EXCERPT_LENGTH]


def post(row: WebhookDelivery) -> Answer:
    """POST the delivery's payload, signed, to its endpoint. Never raises for the
    receiver's faults: they are in the answer."""
    if urlsplit(row.endpoint.url).scheme not in ("http", "https"):
        return Answer(None, error="Only http and https URLs can receive webhooks.")
    body = encode_body(row.payload)
    headers = signed_headers(event_id=row.event_id, secret=row.endpoint.secret, body=body)
    request = urllib.request.Request(row.endpoint.url, data=body, headers=headers, method="POST")
    try:
        with _opener.open(request, timeout=app_settings.WEBHOOK_TIMEOUT) as response:
            return Answer(response.status, _excerpt(response))
    except urllib.error.HTTPError as error:
        with error:
            return Answer(error.code, _excerpt(error), f"HTTP {error.code} {error.reason}")
    except urllib.error.URLError as error:
        reason = error.reason
        return Answer(None, error=f"{type(reason).__name__}: {reason}"[:2000])
    except (OSError, http.client.HTTPException, ValueError) as error:
        return Answer(None, error=f"{type(error).__name__}: {error}"[:2000])


# -- the queue ------------------------------------------------------------------------------


def _lease(now: datetime) -> datetime:
    return now + timedelta(seconds=app_settings.WEBHOOK_CLAIM_SECONDS)


def claim_due(*, limit: int, now: datetime) -> tuple[str, list[int]]:
    """Take up to ``limit`` due deliveries for this worker. Returns (claim, row ids)."""
    return queue.claim_due(
        WebhookDelivery, limit=limit, now=now, hold_seconds=app_settings.WEBHOOK_CLAIM_SECONDS
    )


def retry_delay(attempts: int) -> timedelta:
    return queue.backoff(
        attempts, base=app_settings.WEBHOOK_RETRY_BASE, maximum=app_settings.WEBHOOK_RETRY_MAX
    )


def _finish(row: WebhookDelivery, claim: str, **changes) -> bool:
    # Only while the row is still under our claim: if it lapsed, another worker owns it.
    return bool(WebhookDelivery.objects.filter(pk=row.pk, claim=claim).update(**changes))


def _record(row: WebhookDelivery, claim: str, answer: Answer, report: Report) -> None:
    attempts = row.attempts + 1
    seen = {
        "attempts": attempts,
        "response_status": answer.status,
        "response_excerpt": answer.excerpt,
        "last_error": answer.error,
    }
    url = row.endpoint.url
    if answer.ok:
        if _finish(row, claim, status=Status.DELIVERED, delivered_at=timezone.now(), **seen):
            report.delivered += 1
        return
    report.errors.append(answer.error)
    if answer.status == 410:
        # Gone: the receiver asks never to be called again.
        WebhookEndpoint.objects.filter(pk=row.endpoint_id).update(active=False)
        logger.warning("Webhook endpoint %s answered 410 Gone: deactivated", url)
        if _finish(row, claim, status=Status.FAILED, **seen):
            report.failed += 1
    elif attempts < app_settings.WEBHOOK_MAX_ATTEMPTS:
        due_at = timezone.now() + retry_delay(attempts)
        if _finish(row, claim, status=Status.PENDING, due_at=due_at, **seen):
            report.retrying += 1
        logger.warning("Webhook to %s failed, will retry: %s", url, answer.error)
    else:
        if _finish(row, claim, status=Status.FAILED, **seen):
            report.failed += 1
        logger.error("Webhook to %s failed for good: %s", url, answer.error)


def deliver_due(*, limit: int = 100, now: datetime | None = None) -> Report:
    """POST what is due, up to ``limit`` rows. Returns what happened to them."""
    now = now or timezone.now()
    report = Report()
    claim, ids = claim_due(limit=limit, now=now)
    if not ids:
        return report
    rows = (
        WebhookDelivery.objects.filter(claim=claim, status=Status.SENDING)
        .select_related("endpoint")
        .order_by("due_at", "pk")
    )
    # Endpoints that did not answer in this round: their other rows are not tried now, so
    # one receiver that is down costs one timeout per round, not one per delivery.
    unreachable: dict[int, str] = {}
    gone: set[int] = set()
    for row in rows:
        if not row.endpoint.active or row.endpoint_id in gone:
            # Deactivated by staff, or by a 410 Gone, after the row was written.
            if _finish(row, claim, status=Status.FAILED, last_error="The endpoint is inactive."):
                report.failed += 1
            continue
        if row.endpoint_id in unreachable:
            _record(row, claim, Answer(None, error=unreachable[row.endpoint_id]), report)
            continue
        # Renew the claim for the time of this POST; if it lapsed and another worker took
        # the row meanwhile, leave it to them.
        if not _finish(row, claim, due_at=_lease(timezone.now())):
            continue
        answer = post(row)
        if answer.status is None:
            unreachable[row.endpoint_id] = f"Not tried: {answer.error}"
        elif answer.status == 410:
            gone.add(row.endpoint_id)
        _record(row, claim, answer, report)
    return report


def deliver_all(*, now: datetime | None = None) -> Report:
    """Deliver until nothing is due (tests, ``--once``)."""
    total = Report()
    while True:
        report = deliver_due(now=now)
        for name in ("delivered", "retrying", "failed"):
            setattr(total, name, getattr(total, name) + getattr(report, name))
        total.errors += report.errors
        if report.handled == 0 or report.retrying:
            return total
