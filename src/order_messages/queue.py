"""The delivery engine: one mechanism for every outbox (e-mails and webhooks).

A queue table has ``status`` (pending / sending / sent or delivered / skipped / failed),
``due_at``, ``claim``, ``attempts`` and ``last_error``. A worker claims due rows with
``SELECT … FOR UPDATE SKIP LOCKED`` (on SQLite the write lock serialises claims), marks
them ``sending`` and moves ``due_at`` to when its claim lapses, so that the rows of a
worker that died are taken by another. Just before sending a row it renews that claim, so
a slow receiver cannot let the claim of a row still waiting in the batch lapse and have it
sent twice.

What differs between outboxes is a ``Channel``: which table, how rows are grouped into
one send (a daily digest is one e-mail), how one send is made, and how a row goes back
into the queue (an e-mail batch may have to fold into a newer one). Claiming, renewing,
recording, back-off, giving up, resending and the report are here, once.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db import connections, models, router, transaction
from django.utils import timezone

from .conf import app_settings

logger = logging.getLogger(__name__)

PENDING, SENDING, SKIPPED, FAILED = "pending", "sending", "skipped", "failed"
SENT, RETRY = "sent", "retry"  # outcomes of one send, besides SKIPPED and FAILED


@dataclass
class Report:
    """What one round (or several) did, counted in rows."""

    sent: int = 0
    skipped: int = 0
    retrying: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)

    @property
    def delivered(self) -> int:
        # The word the webhook log uses for "sent".
        return self.sent

    @property
    def handled(self) -> int:
        return self.sent + self.skipped + self.retrying + self.failed

    def add(self, other: Report) -> None:
        self.sent += other.sent
        self.skipped += other.skipped
        self.retrying += other.retrying
        self.failed += other.failed
        self.errors += other.errors


@dataclass(frozen=True)
class Outcome:
    """What became of one send. ``changes``: further columns to record on its rows (e.g. the
    receiver's HTTP status)."""

    result: str  # SENT, SKIPPED, RETRY (may pass) or FAILED (will not)
    error: str = ""
    counts_attempt: bool = True
    changes: dict = field(default_factory=dict)


class Channel:
    """One outbox table and how to send its rows. A channel object lives for one round, so
    it may remember things for the round (an endpoint that did not answer)."""

    model: type[models.Model]
    # ORDER_MESSAGES_{prefix}_MAX_ATTEMPTS, _RETRY_BASE, _RETRY_MAX, _CLAIM_SECONDS.
    settings_prefix: str
    sent_status = "sent"
    sent_at_field = "sent_at"
    noun = "Delivery"

    def setting(self, name: str):
        return getattr(app_settings, f"{self.settings_prefix}_{name}")

    def claim_more(self, *, claim: str, ids: list[int], now: datetime) -> None:
        """Claim rows that must go out with the claimed ones (a digest's other rows)."""

    def rows(self, claim: str) -> Iterable[models.Model]:
        return self.model.objects.filter(claim=claim, status=SENDING).order_by("due_at", "pk")

    def batches(self, rows: list) -> list[list]:
        """The rows grouped into sends, in sending order: by default one row each."""
        return [[row] for row in rows]

    def open(self) -> None:
        """Prepare the round (e.g. connect to the mail server). Raising retries every row."""

    def close(self) -> None:
        pass

    def send(self, batch: list) -> Outcome:
        raise NotImplementedError

    def describe(self, batch: list) -> str:
        """Where the batch goes, for the log."""
        return str(batch[0])

    def requeue(self, row, *, only: dict, due_at: datetime, changes: dict) -> bool:
        """Put ``row`` back in the queue, due at ``due_at``, if it still matches ``only``
        (our claim, or: still failed). True if it went back."""
        updated = self.model.objects.filter(pk=row.pk, **only).update(
            status=PENDING, due_at=due_at, claim="", **changes
        )
        return bool(updated)


# -- claiming ---------------------------------------------------------------------------------


def claim_due(
    model: type[models.Model], *, limit: int, now: datetime, hold_seconds: int
) -> tuple[str, list[int]]:
    """Take up to ``limit`` due rows of ``model`` for this worker. Returns (claim, ids)."""
    claim = uuid.uuid4().hex
    with transaction.atomic():
        ids = list(
            model.objects.select_for_update(skip_locked=True)
            .filter(status__in=[PENDING, SENDING], due_at__lte=now)
            .order_by("due_at", "pk")
            .values_list("pk", flat=True)[:limit]
        )
        if ids:
            model.objects.filter(pk__in=ids).update(
                status=SENDING, claim=claim, due_at=now + timedelta(seconds=hold_seconds)
            )
    return claim, ids


def hold_until(now: datetime, seconds: int) -> datetime:
    # From the worker's own clock (``now`` may be given) or the real one, whichever is
    # later, so that renewing never shortens the claim.
    return max(now, timezone.now()) + timedelta(seconds=seconds)


def update_claimed(
    model: type[models.Model], rows: list, claim: str, *, still: str = "", **changes
) -> int:
    """``UPDATE`` the rows (as ``QuerySet.update`` would) that are still under ``claim``,
    and, if ``still`` is given, still in that status. Returns how many were.

    A worker makes two of these per send (renewing the claim, recording the outcome), so
    the statement is written out: Django building it cost ten times what SQLite takes to
    run it (0.25 against 0.025 ms)."""
    connection = connections[router.db_for_write(model)]
    quote, meta = connection.ops.quote_name, model._meta
    assignments, params = [], []
    for name, value in changes.items():
        field = meta.get_field(name)
        assignments.append(f"{quote(field.column)} = %s")
        params.append(field.get_db_prep_save(value, connection))
    keys = ", ".join(["%s"] * len(rows))
    params += [row.pk for row in rows]
    claim_column = quote(meta.get_field("claim").column)
    sql = (
        f"UPDATE {quote(meta.db_table)} SET {', '.join(assignments)} "
        f"WHERE {quote(meta.pk.column)} IN ({keys}) AND {claim_column} = %s"
    )
    params.append(claim)
    if still:
        sql += f" AND {quote(meta.get_field('status').column)} = %s"
        params.append(still)
    with transaction.mark_for_rollback_on_error(using=connection.alias):
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.rowcount


def renew(channel: Channel, batch: list, claim: str, now: datetime) -> bool:
    """Renew the claim on the batch just before sending it. False if it lapsed and another
    worker took any of its rows meanwhile: then they are that worker's to send."""
    renewed = update_claimed(
        channel.model,
        batch,
        claim,
        still=SENDING,
        due_at=hold_until(now, channel.setting("CLAIM_SECONDS")),
    )
    return renewed == len(batch)


def backoff(attempts: int, *, base: int, maximum: int) -> timedelta:
    """``base`` seconds after the first failure, doubling, at most ``maximum``."""
    return timedelta(seconds=min(base * 2 ** max(attempts - 1, 0), maximum))


def retry_delay(channel: Channel, attempts: int) -> timedelta:
    return backoff(
        attempts, base=channel.setting("RETRY_BASE"), maximum=channel.setting("RETRY_MAX")
    )


# -- recording --------------------------------------------------------------------------------


def _finish(channel: Channel, batch: list, claim: str, **changes) -> int:
    # Only rows still under our claim: if it lapsed, another worker owns them now.
    return update_claimed(channel.model, batch, claim, **changes)


def record(channel: Channel, batch: list, claim: str, outcome: Outcome, report: Report) -> None:
    """Write what became of one send on its rows, and count it."""
    attempts = batch[0].attempts + (1 if outcome.counts_attempt else 0)
    if outcome.result == SENT:
        report.sent += _finish(
            channel,
            batch,
            claim,
            status=channel.sent_status,
            attempts=attempts,
            last_error="",
            **{channel.sent_at_field: timezone.now()},
            **outcome.changes,
        )
        return
    if outcome.result == SKIPPED:
        report.skipped += _finish(
            channel, batch, claim, status=SKIPPED, last_error=outcome.error, **outcome.changes
        )
        return
    report.errors.append(outcome.error)
    changes = {"attempts": attempts, "last_error": outcome.error, **outcome.changes}
    where = channel.describe(batch)
    if outcome.result == RETRY and attempts < channel.setting("MAX_ATTEMPTS"):
        due_at = timezone.now() + retry_delay(channel, attempts)
        for row in batch:
            channel.requeue(row, only={"claim": claim}, due_at=due_at, changes=changes)
        report.retrying += len(batch)
        logger.warning("%s to %s failed, will retry: %s", channel.noun, where, outcome.error)
    else:
        report.failed += _finish(channel, batch, claim, status=FAILED, **changes)
        logger.error("%s to %s failed for good: %s", channel.noun, where, outcome.error)


def error_text(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}"[:2000]


# -- the rounds -------------------------------------------------------------------------------


def deliver_due(channel: Channel, *, limit: int = 100, now: datetime | None = None) -> Report:
    """Send what is due on the channel, up to ``limit`` rows. Returns what happened."""
    now = now or timezone.now()
    report = Report()
    claim, ids = claim_due(
        channel.model, limit=limit, now=now, hold_seconds=channel.setting("CLAIM_SECONDS")
    )
    if not ids:
        return report
    channel.claim_more(claim=claim, ids=ids, now=now)
    batches = channel.batches(list(channel.rows(claim)))
    try:
        channel.open()
    except Exception as error:  # noqa: BLE001 — e.g. the mail server is down: retry all later
        # Even a permanent-looking error here (a wrong password) is the channel's fault,
        # not the rows': they are retried, and fail only after the last try.
        for batch in batches:
            record(channel, batch, claim, Outcome(RETRY, error_text(error)), report)
        return report
    try:
        for batch in batches:
            if not renew(channel, batch, claim, now):
                continue
            try:
                outcome = channel.send(batch)
            except Exception as error:  # noqa: BLE001 — one broken row must not stop the rest
                logger.exception("%s to %s failed", channel.noun, channel.describe(batch))
                outcome = Outcome(FAILED, error_text(error))
            record(channel, batch, claim, outcome, report)
    finally:
        channel.close()
    return report


def deliver_all(make_channel: Callable[[], Channel], *, now: datetime | None = None) -> Report:
    """Deliver until nothing is due (tests, ``--once``); a fresh channel for each round."""
    total = Report()
    while True:
        report = deliver_due(make_channel(), now=now)
        total.add(report)
        if report.handled == 0 or report.retrying:
            return total


def resend(channel: Channel, rows: models.QuerySet) -> int:
    """Put the failed ones of ``rows`` back in the queue, due now, tries counted from zero.
    Returns how many went back. Goes through the channel's ``requeue``, so the rule that
    keeps its table consistent holds for a resend as for a retry."""
    count = 0
    for row in rows.filter(status=FAILED).order_by("pk"):
        count += channel.requeue(
            row,
            only={"status": FAILED},
            due_at=timezone.now(),
            changes={"attempts": 0, "last_error": ""},
        )
    return count
