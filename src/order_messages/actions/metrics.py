"""The roll-up of the response figures: messages into ResponseDay rows (metrics.py).

The worker reads the messages written since the last round in id order and adds them into
one row per seller and UTC day. Exactly once, however many workers run: a round holds the
``Watermark`` row's lock (another worker skips its round) and moves the watermark in the
same transaction as the counts it adds.

Ids are handed out when a row is inserted, not when it commits, so a message with a lower
id can become visible after one with a higher id. A round therefore stops at the first
message younger than ``LAG``: a transaction still open after that long would be passed
over. A message's time is read as its post begins, before it waits for the conversation's
row lock, so that wait counts too: posting commits within milliseconds, and a lock is
held no longer than one post.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from django.db import transaction
from django.utils import timezone

from ..metrics import DAY, bucket_of, empty_histogram, merge_histograms
from ..models import Message, ResponseDay, Role, Watermark

WATERMARK = "responses"
# The last message written before replies carried their response time (the upgrade that
# brought the figures): older messages are never counted, not even by a rebuild.
COUNTED_AFTER = "responses-from"
LAG = dt.timedelta(seconds=60)
BATCH = 5000
COUNTERS = (
    "customer_messages",
    "answered_within_day",
    "responses",
    "disputes_opened",
    "disputes_escalated",
    "disputes_resolved",
)
DISPUTE_COUNTERS = {
    Message.Kind.DISPUTE_OPENED: "disputes_opened",
    Message.Kind.DISPUTE_ESCALATED: "disputes_escalated",
    Message.Kind.DISPUTE_CLOSED: "disputes_resolved",
}


@dataclass
class Tally:
    """What one batch adds to one seller's day."""

    vendor_name: str
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(COUNTERS, 0))
    histogram: list[int] = field(default_factory=empty_histogram)


def utc_day(at: dt.datetime) -> dt.date:
    return at.astimezone(dt.UTC).date()


def tally(rows) -> dict[tuple[str, dt.date], Tally]:
    """The batch's additions per (vendor key, day). ``rows``: (created_at, kind,
    author_role, response_seconds, answered_within_day, vendor_key, vendor_name)."""
    found: dict[tuple[str, dt.date], Tally] = {}

    def add(vendor_key, vendor_name, day) -> Tally:
        entry = found.setdefault((vendor_key, day), Tally(vendor_name))
        entry.vendor_name = vendor_name  # the newest name wins
        return entry

    for created_at, kind, role, seconds, within_day, vendor_key, vendor_name in rows:
        day = utc_day(created_at)
        if kind == Message.Kind.MESSAGE and role == Role.CUSTOMER:
            add(vendor_key, vendor_name, day).counts["customer_messages"] += 1
        elif kind in DISPUTE_COUNTERS:
            add(vendor_key, vendor_name, day).counts[DISPUTE_COUNTERS[kind]] += 1
        if seconds is not None:  # a seller's first answer to a waiting customer
            entry = add(vendor_key, vendor_name, day)
            entry.counts["responses"] += 1
            entry.histogram[bucket_of(seconds)] += 1
            if within_day:
                # Counted where the customer messages it answered in time were written, so
                # that the share compares like with like: those were written within the
                # day before the answer, and not before the customer began to wait.
                waited = dt.timedelta(seconds=min(seconds, DAY))
                earliest = add(vendor_key, vendor_name, utc_day(created_at - waited))
                earliest.counts["answered_within_day"] += within_day
    return found


def add_tallies(found: dict[tuple[str, dt.date], Tally]) -> None:
    """Add the batch into the rows. Only the holder of the watermark's lock writes them, so
    reading and writing back the counts races with no one."""
    if not found:
        return
    existing = {
        (row.vendor_key, row.day): row
        for row in ResponseDay.objects.filter(
            vendor_key__in={key for key, _ in found}, day__in={day for _, day in found}
        )
    }
    changed, created = [], []
    for (vendor_key, day), entry in found.items():
        row = existing.get((vendor_key, day))
        if row is None:
            row = ResponseDay(vendor_key=vendor_key, day=day, response_histogram=empty_histogram())
            created.append(row)
        else:
            changed.append(row)
        row.vendor_name = entry.vendor_name
        for name, n in entry.counts.items():
            setattr(row, name, getattr(row, name) + n)
        row.response_histogram = merge_histograms([row.response_histogram, entry.histogram])
    if changed:
        # Written again rather than updated: one DELETE and one INSERT, where bulk_update
        # would build a CASE per column and row (five times slower for a rebuild).
        ResponseDay.objects.filter(pk__in=[row.pk for row in changed]).delete()
        for row in changed:
            row.pk = None
    ResponseDay.objects.bulk_create(changed + created)


def roll_up_responses(
    *, now: dt.datetime | None = None, lag: dt.timedelta = LAG, batch: int = BATCH
) -> int | None:
    """Add up to ``batch`` messages written since the last round into ResponseDay, leaving
    those younger than ``lag``. Returns how many were added, or None when another worker
    is rolling up at this moment (it will have added them)."""
    cutoff = (now or timezone.now()) - lag
    Watermark.objects.get_or_create(name=WATERMARK)
    with transaction.atomic():
        mark = (
            Watermark.objects.select_for_update(skip_locked=True)
            .filter(name=WATERMARK)
            .values_list("last_id", flat=True)
            .first()
        )
        if mark is None:
            return None
        rows = Message.objects.filter(pk__gt=mark).order_by("pk")[:batch]
        ripe = []
        for pk, created_at, *rest in rows.values_list(
            "pk",
            "created_at",
            "kind",
            "author_role",
            "response_seconds",
            "answered_within_day",
            "conversation__vendor_key",
            "conversation__vendor_name",
        ):
            if created_at >= cutoff:
                break
            ripe.append((pk, created_at, *rest))
        if not ripe:
            return 0
        # Conditional, so that where the database takes no row lock (SQLite) a second
        # round that read the same watermark adds nothing.
        if not Watermark.objects.filter(name=WATERMARK, last_id=mark).update(
            last_id=ripe[-1][0], updated_at=timezone.now()
        ):
            return None
        add_tallies(tally(row[1:] for row in ripe))
    return len(ripe)


def roll_up_all(
    *,
    now: dt.datetime | None = None,
    lag: dt.timedelta = LAG,
    batch: int = BATCH,
    wait: bool = False,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Roll up until the messages older than ``lag`` are all counted; returns how many
    this call added. Where another worker holds the watermark, stops (it is rolling up),
    or with ``wait`` tries again until it is done. ``progress`` is told the watermark after
    each batch."""
    now = now or timezone.now()
    added = 0
    while True:
        n = roll_up_responses(now=now, lag=lag, batch=batch)
        if n is None and wait:
            time.sleep(0.2)
            continue
        added += n or 0
        if progress is not None:
            progress(Watermark.objects.get(name=WATERMARK).last_id)
        if n is None or n < batch:
            return added


def reset_responses() -> None:
    """Forget every ResponseDay and start reading the messages again from the first one
    written with response figures. Waits for a round under way to finish; the dashboards
    show partial figures until the roll-up has read everything again."""
    Watermark.objects.get_or_create(name=WATERMARK)
    start = (
        Watermark.objects.filter(name=COUNTED_AFTER).values_list("last_id", flat=True).first()
    ) or 0
    with transaction.atomic():
        Watermark.objects.select_for_update().filter(name=WATERMARK).get()
        ResponseDay.objects.all().delete()
        Watermark.objects.filter(name=WATERMARK).update(last_id=start, updated_at=timezone.now())
