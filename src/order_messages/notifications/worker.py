"""Delivering the outbox (N1): the e-mail channel of the delivery engine (``queue.py``).

Several workers may run at once: on PostgreSQL each claims its rows with
``SELECT … FOR UPDATE SKIP LOCKED``; on SQLite claims are serialised by the write lock.
A claim lapses after ``EMAIL_CLAIM_SECONDS``, so the rows of a worker that died are sent
by another, with the same Message-ID. What the e-mails of a round need to read is read for
up to a hundred of them at once (``read_ahead.py``).
"""

from __future__ import annotations

import logging
import smtplib
import socket
from collections import defaultdict
from datetime import datetime, timedelta

from django.core import mail
from django.db import IntegrityError, transaction
from django.db.models.functions import Greatest, Least

from .. import queue
from ..models.notifications import Notification
from ..queue import FAILED, RETRY, SENT, SKIPPED, Outcome, Report
from .email import prepare, prepare_digest
from .read_ahead import ROWS, forget, is_fresh, read_ahead, record_sent

__all__ = ["EmailChannel", "Report", "claim_due", "deliver_all", "deliver_due", "is_temporary"]

logger = logging.getLogger(__name__)

Status = Notification.Status
FOLDED = "Sent with a newer e-mail to the same address about this conversation."


def is_temporary(error: Exception) -> bool:
    """A 4xx reply or a connection problem may pass; a 5xx reply will not."""
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        return all(400 <= code < 500 for code, _ in error.recipients.values())
    if isinstance(error, smtplib.SMTPResponseException):
        return 400 <= error.smtp_code < 500
    return isinstance(error, smtplib.SMTPException | OSError | socket.timeout)


def _failure(error: Exception) -> Outcome:
    return Outcome(RETRY if is_temporary(error) else FAILED, queue.error_text(error))


class EmailChannel(queue.Channel):
    model = Notification
    settings_prefix = "EMAIL"
    sent_status = Status.SENT
    sent_at_field = "sent_at"
    noun = "E-mail"

    def __init__(self, *, connection=None):
        self.connection = connection
        self.upcoming: list[list[Notification]] = []  # the round's batches, in sending order
        self.position: dict[int, int] = {}  # id(batch): its place in upcoming
        self.reads_ahead = True

    def claim_more(self, *, claim, ids, now):
        for email in (
            Notification.objects.filter(pk__in=ids, digest=True)
            .values_list("email", flat=True)
            .distinct()
        ):
            claim_digest_companions(claim=claim, email=email, now=now)

    def rows(self, claim):
        return super().rows(claim).select_related("conversation", "user")

    def batches(self, rows):
        """Each e-mail of its own in due order, then each recipient's digest."""
        singles, digests = [], defaultdict(list)
        for row in rows:
            if row.digest:
                digests[row.email].append(row)
            else:
                singles.append([row])
        self.upcoming = singles + list(digests.values())
        self.position = {id(batch): index for index, batch in enumerate(self.upcoming)}
        return self.upcoming

    def describe(self, batch):
        return batch[0].email

    def open(self):
        if self.connection is None:
            # Where Django has mail.mailers, it replaces get_connection().
            mailers = getattr(mail, "mailers", None)
            self.connection = mailers.default if mailers is not None else mail.get_connection()
        self.connection.open()

    def close(self):
        self.connection.close()

    def read_ahead(self, batch) -> None:
        """Read what this batch and the next ones need (``read_ahead``), unless that was
        read for it just now."""
        if not self.reads_ahead or is_fresh(batch[0]):
            return
        start = self.position.get(id(batch))
        rows = []
        for upcoming in self.upcoming[start:] if start is not None else [batch]:
            rows += upcoming
            if len(rows) >= ROWS:
                break
        try:
            read_ahead(rows)
        except Exception:  # noqa: BLE001 — e.g. a database error on one of the reads
            # Each e-mail then reads what it needs itself, and fails alone if it must;
            # nothing read earlier is used any longer.
            logger.exception("Could not read ahead for the e-mails to send; reading each")
            forget([row for upcoming in self.upcoming for row in upcoming])
            self.reads_ahead = False

    def send(self, batch) -> Outcome:
        self.read_ahead(batch)
        try:
            prepared = prepare_digest(batch) if batch[0].digest else prepare(batch[0])
        except Exception as error:  # noqa: BLE001 — a broken template fails these rows only
            logger.exception("Could not render the e-mail to %s", batch[0].email)
            return _failure(error)
        if prepared.email is None:
            return Outcome(SKIPPED, prepared.reason)
        try:
            self.connection.send_messages([prepared.email])
        except Exception as error:  # noqa: BLE001 — every failure is recorded on the rows
            try:
                self.connection.close()  # a broken connection is reopened for the next e-mail
            except Exception:  # noqa: BLE001, S110
                pass
            return _failure(error)
        record_sent(batch[0])
        return Outcome(SENT)

    def requeue(self, row, *, only, due_at, changes) -> bool:
        """Put the row back in the queue, or, if a newer batch is open for the same address
        and conversation (a message posted while this one was being sent, or after it
        failed), fold it into that batch: one e-mail then tells of the messages of both,
        and the open batch stays the only one (``om_one_pending_batch``)."""
        for _try in range(2):
            try:
                with transaction.atomic():
                    newer = None
                    if row.kind == Notification.Kind.MESSAGE:
                        newer = (
                            Notification.objects.select_for_update()
                            .filter(
                                conversation_id=row.conversation_id,
                                email=row.email,
                                kind=row.kind,
                                status=Status.PENDING,
                            )
                            .exclude(pk=row.pk)
                            .first()
                        )
                    if newer is None:
                        return super().requeue(row, only=only, due_at=due_at, changes=changes)
                    folded = Notification.objects.filter(pk=row.pk, **only).update(
                        status=Status.SKIPPED, claim="", last_error=FOLDED
                    )
                    if folded:
                        Notification.objects.filter(pk=newer.pk).update(
                            first_seq=Least("first_seq", row.first_seq),
                            last_seq=Greatest("last_seq", row.last_seq),
                            due_at=Least("due_at", due_at),
                            **changes,
                        )
                    return bool(folded)
            except IntegrityError:  # a new batch was opened just now: fold into it instead
                continue
        return False


def claim_due(*, limit: int, now: datetime) -> tuple[str, list[int]]:
    """Take up to ``limit`` due rows for this worker. Returns (claim, row ids)."""
    return queue.claim_due(
        Notification, limit=limit, now=now, hold_seconds=EmailChannel().setting("CLAIM_SECONDS")
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
            due_at=now + timedelta(seconds=EmailChannel().setting("CLAIM_SECONDS")),
        )


def deliver_due(*, limit: int = 100, now: datetime | None = None, connection=None) -> Report:
    """Send what is due, up to ``limit`` rows. Returns what happened to them."""
    return queue.deliver_due(EmailChannel(connection=connection), limit=limit, now=now)


def deliver_all(*, now: datetime | None = None, connection=None) -> Report:
    """Deliver until nothing is due (tests, ``--once``)."""
    return queue.deliver_all(lambda: EmailChannel(connection=connection), now=now)
