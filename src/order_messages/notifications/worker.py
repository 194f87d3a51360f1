"""Delivering the outbox (N1): claim due rows, send, record; retry what failed for now.

Several workers may run at once: on PostgreSQL each claims its rows with
``SELECT … FOR UPDATE SKIP LOCKED``; on SQLite claims are serialised by the write lock.
A claim lapses after ``EMAIL_CLAIM_SECONDS``, so the rows of a worker that died are sent
by another, with the same Message-ID.
"""

from __future__ import annotations

import logging
import smtplib
import socket
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.core.mail import get_connection
from django.db import IntegrityError, transaction
from django.utils import timezone

from .. import queue
from ..conf import app_settings
from ..models.notifications import Notification
from .email import Prepared, prepare, prepare_digest

logger = logging.getLogger(__name__)

Status = Notification.Status


@dataclass
class Report:
    sent: int = 0
    skipped: int = 0
    retrying: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)

    @property
    def handled(self) -> int:
        return self.sent + self.skipped + self.retrying + self.failed


def claim_due(*, limit: int, now: datetime) -> tuple[str, list[int]]:
    """Take up to ``limit`` due rows for this worker. Returns (claim, row ids)."""
    return queue.claim_due(
        Notification, limit=limit, now=now, hold_seconds=app_settings.EMAIL_CLAIM_SECONDS
    )


def claim_digest_companions(*, claim: str, email: str, now: datetime) -> None:
    """A digest is one e-mail: take the recipient's other due digest rows too."""
    with transaction.atomic():
        ids = list(
            Notification.objects.select_for_update(skip_locked=True)
            .filter(status=Status.PENDING, digest=True, email=email, due_at__lte=now)
            .values_list("pk", flat=True)
        )
        Notification.objects.filter(pk__in=ids).update(
            status=Status.SENDING,
            claim=claim,
            due_at=now + timedelta(seconds=app_settings.EMAIL_CLAIM_SECONDS),
        )


def is_temporary(error: Exception) -> bool:
    """A 4xx reply or a connection problem may pass; a 5xx reply will not."""
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        return all(400 <= code < 500 for code, _ in error.recipients.values())
    if isinstance(error, smtplib.SMTPResponseException):
        return 400 <= error.smtp_code < 500
    return isinstance(error, smtplib.SMTPException | OSError | socket.timeout)


def retry_delay(attempts: int) -> timedelta:
    return queue.backoff(
        attempts, base=app_settings.EMAIL_RETRY_BASE, maximum=app_settings.EMAIL_RETRY_MAX
    )


def _finish(rows: list[Notification], claim: str, **changes) -> None:
    # Only rows still under our claim: if it lapsed, another worker owns them now.
    Notification.objects.filter(pk__in=[r.pk for r in rows], claim=claim).update(**changes)


def _retry_later(row: Notification, claim: str, *, attempts: int, error: str, due_at) -> None:
    """Put the row back in the queue, or, if a message posted while it was being sent has
    opened a new batch for the same address, fold it into that batch: one e-mail then
    lists the messages of both, and the unique open batch stays unique."""
    changes = {"attempts": attempts, "last_error": error, "due_at": due_at}
    for _try in range(2):
        try:
            with transaction.atomic():
                if row.kind == Notification.Kind.MESSAGE:
                    newer = (
                        Notification.objects.select_for_update()
                        .filter(
                            conversation_id=row.conversation_id,
                            email=row.email,
                            kind=row.kind,
                            status=Status.PENDING,
                        )
                        .first()
                    )
                    if newer is not None:
                        Notification.objects.filter(pk=newer.pk).update(
                            first_seq=min(newer.first_seq, row.first_seq),
                            due_at=min(newer.due_at, due_at),
                            attempts=attempts,
                            last_error=error,
                        )
                        _finish([row], claim, status=Status.SKIPPED, last_error=error)
                        return
                _finish([row], claim, status=Status.PENDING, **changes)
                return
        except IntegrityError:  # a new batch was opened just now: fold into it instead
            continue


def _record_failure(rows, claim, error: Exception, report: Report, *, temporary=None) -> None:
    attempts = rows[0].attempts + 1
    text = f"{type(error).__name__}: {error}"[:2000]
    report.errors.append(text)
    if temporary is None:
        temporary = is_temporary(error)
    if temporary and attempts < app_settings.EMAIL_MAX_ATTEMPTS:
        due_at = timezone.now() + retry_delay(attempts)
        for row in rows:
            _retry_later(row, claim, attempts=attempts, error=text, due_at=due_at)
        report.retrying += len(rows)
        logger.warning("E-mail to %s failed, will retry: %s", rows[0].email, text)
    else:
        _finish(rows, claim, status=Status.FAILED, attempts=attempts, last_error=text)
        report.failed += len(rows)
        logger.error("E-mail to %s failed for good: %s", rows[0].email, text)


def _still_ours(rows: list[Notification], claim: str, now: datetime) -> bool:
    """Renew the claim just before sending. A slow mail server may have let it lapse and
    another worker take the rows: then they are its to send, not ours."""
    renewed = Notification.objects.filter(
        pk__in=[r.pk for r in rows], claim=claim, status=Status.SENDING
    ).update(due_at=_hold_until(now))
    return renewed == len(rows)


def _hold_until(now: datetime) -> datetime:
    # From the worker's own clock (``now`` may be given) or the real one, whichever is
    # later, so that renewing never shortens the claim.
    return max(now, timezone.now()) + timedelta(seconds=app_settings.EMAIL_CLAIM_SECONDS)


def _deliver(rows, prepared: Prepared, connection, claim, report, *, now: datetime) -> None:
    if not _still_ours(rows, claim, now):
        return
    if prepared.email is None:
        _finish(rows, claim, status=Status.SKIPPED, last_error=prepared.reason)
        report.skipped += len(rows)
        return
    try:
        connection.send_messages([prepared.email])
    except Exception as error:  # noqa: BLE001 — every failure is recorded on the row
        _record_failure(rows, claim, error, report)
        try:
            connection.close()  # a broken connection is reopened for the next e-mail
        except Exception:  # noqa: BLE001, S110
            pass
        return
    _finish(rows, claim, status=Status.SENT, sent_at=timezone.now(), last_error="")
    report.sent += len(rows)


def deliver_due(*, limit: int = 100, now: datetime | None = None, connection=None) -> Report:
    """Send what is due, up to ``limit`` rows. Returns what happened to them."""
    now = now or timezone.now()
    report = Report()
    claim, ids = claim_due(limit=limit, now=now)
    if not ids:
        return report
    for email in (
        Notification.objects.filter(pk__in=ids, digest=True)
        .values_list("email", flat=True)
        .distinct()
    ):
        claim_digest_companions(claim=claim, email=email, now=now)
    rows = list(
        Notification.objects.filter(claim=claim, status=Status.SENDING)
        .select_related("conversation", "user")
        .order_by("due_at", "pk")
    )
    digests: dict[str, list[Notification]] = defaultdict(list)
    connection = connection or get_connection()
    try:
        connection.open()
    except Exception as error:  # noqa: BLE001 — the mail server is down: retry all later
        # Even a 5xx here (a wrong password, a refusing greeting) is the connection's
        # fault, not the e-mails': they are retried, and fail only after the last try.
        for row in rows:
            _record_failure([row], claim, error, report, temporary=True)
        return report
    try:
        for row in rows:
            if row.digest:
                digests[row.email].append(row)
                continue
            try:
                prepared = prepare(row)
            except Exception as error:  # noqa: BLE001 — a broken template must not stop the rest
                logger.exception("Could not render notification %s", row.pk)
                _record_failure([row], claim, error, report)
                continue
            _deliver([row], prepared, connection, claim, report, now=now)
        for group in digests.values():
            try:
                prepared = prepare_digest(group)
            except Exception as error:  # noqa: BLE001 — as for a single e-mail
                logger.exception("Could not render the digest for %s", group[0].email)
                _record_failure(group, claim, error, report)
                continue
            _deliver(group, prepared, connection, claim, report, now=now)
    finally:
        connection.close()
    return report


def deliver_all(*, now: datetime | None = None, connection=None) -> Report:
    """Deliver until nothing is due (tests, ``--once``)."""
    total = Report()
    while True:
        report = deliver_due(now=now, connection=connection)
        for name in ("sent", "skipped", "retrying", "failed"):
            setattr(total, name, getattr(total, name) + getattr(report, name))
        total.errors += report.errors
        if report.handled == 0 or report.retrying:
            return total
