"""The notification worker: delivers due e-mails, then due webhooks, from the outbox until
stopped. Both go through the one delivery engine (``queue.py``), a channel each. Every few
minutes it also deletes the uploads nobody posted (ATTACHMENT_ABANDONED_AFTER); every
DISPUTE_CLOCK_SECONDS it reminds sellers of near dispute deadlines and escalates the
disputes whose deadline passed, and adds the messages written since into the dashboard's
response figures. Several workers may run: each dispute is escalated and reminded of
once, each message counted once."""

import logging
import signal
import time
from typing import NamedTuple

from django.core.management.base import BaseCommand
from django.db import close_old_connections

from ... import actions, queue
from ...actions.disputes import CLOCK_BATCH
from ...actions.metrics import BATCH, roll_up_all, roll_up_responses
from ...conf import app_settings
from ...notifications.worker import EmailChannel
from ...webhooks.delivery import WebhookChannel

logger = logging.getLogger(__name__)


def email_summary(report):
    return (
        f"sent {report.sent}, not needed {report.skipped}, "
        f"to retry {report.retrying}, failed {report.failed}"
    )


def webhooks_summary(report):
    return (
        f"webhooks delivered {report.delivered}, to retry {report.retrying}, failed {report.failed}"
    )


# (channel, summary line, print the line even when nothing was handled)
CHANNELS = [(EmailChannel, email_summary, True), (WebhookChannel, webhooks_summary, False)]
# Seconds between sweeps of abandoned uploads, and the most deleted in one sweep.
SWEEP_SECONDS = 300
SWEEP_BATCH = 500


def sweep_summary(deleted):
    return f"abandoned uploads deleted {deleted}"


class UploadSweep:
    """Deletes the uploads nobody posted, at most every SWEEP_SECONDS; after a full batch
    (more are waiting) at the next round."""

    def __init__(self):
        self.next_at = float("-inf")

    def run_if_due(self, now: float) -> int:
        if now < self.next_at:
            return 0
        deleted = actions.delete_abandoned_uploads(limit=SWEEP_BATCH)
        self.next_at = now if deleted == SWEEP_BATCH else now + SWEEP_SECONDS
        return deleted

    def run_all(self) -> int:
        deleted, swept = 0, SWEEP_BATCH
        while swept == SWEEP_BATCH:
            swept = actions.delete_abandoned_uploads(limit=SWEEP_BATCH)
            deleted += swept
        return deleted


def clock_summary(reminded, escalated):
    return f"dispute reminders {reminded}, disputes escalated {escalated}"


def roll_up_summary(rolled_up):
    return f"messages rolled up into the response figures {rolled_up}"


class ClockRound(NamedTuple):
    reminded: int
    escalated: int
    # Messages added into the response figures (None: another worker was adding them).
    rolled_up: int | None = 0


class DisputeClock:
    """Reminds, escalates and rolls up the response figures at most every
    DISPUTE_CLOCK_SECONDS; after a full batch (more are due) at the next round."""

    def __init__(self):
        self.next_at = float("-inf")

    def run_if_due(self, now: float) -> ClockRound:
        if now < self.next_at:
            return ClockRound(0, 0)
        done = self.run_once()
        full = max(done.reminded, done.escalated) >= CLOCK_BATCH or (done.rolled_up or 0) >= BATCH
        self.next_at = now if full else now + app_settings.DISPUTE_CLOCK_SECONDS
        return done

    def run_once(self) -> ClockRound:
        return ClockRound(
            actions.remind_sellers(), actions.escalate_overdue_disputes(), roll_up_responses()
        )


class Command(BaseCommand):
    help = (
        "Deliver notification e-mails and webhooks from the outbox "
        "(run one or more beside the web server)."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--once",
            action="store_true",
            help="Deliver what is due and delete abandoned uploads, then exit.",
        )
        parser.add_argument(
            "--interval", type=float, default=1.0, help="Seconds between polls when idle."
        )
        parser.add_argument(
            "--batch", type=int, default=100, help="E-mails (and webhooks) claimed at a time."
        )

    def handle(self, *args, once, interval, batch, verbosity, **options):
        if once:
            for channel, summary, always in CHANNELS:
                report = queue.deliver_all(channel)
                if always or report.handled:
                    self.stdout.write(summary(report))
            deleted = UploadSweep().run_all()
            if deleted:
                self.stdout.write(sweep_summary(deleted))
            reminded, escalated, rolled_up = DisputeClock().run_once()
            if reminded or escalated:
                self.stdout.write(clock_summary(reminded, escalated))
            if rolled_up is not None:  # no other worker is rolling up: finish what is left
                rolled_up += roll_up_all()
            if rolled_up:
                self.stdout.write(roll_up_summary(rolled_up))
            return
        stopping = False

        def stop(signum, frame):
            nonlocal stopping
            stopping = True  # finish the e-mail or webhook in hand, then leave

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        self.stdout.write(f"Delivering notifications (polling every {interval:g}s).")
        sweep, clock = UploadSweep(), DisputeClock()
        while not stopping:
            busy = False
            try:
                deleted = sweep.run_if_due(time.monotonic())
                if deleted and verbosity:
                    self.stdout.write(sweep_summary(deleted))
                reminded, escalated, rolled_up = clock.run_if_due(time.monotonic())
                if (reminded or escalated) and verbosity:
                    self.stdout.write(clock_summary(reminded, escalated))
                if rolled_up and verbosity:
                    self.stdout.write(roll_up_summary(rolled_up))
                for channel, summary, _always in CHANNELS:
                    report = queue.deliver_due(channel(), limit=batch)
                    if report.handled and verbosity:
                        self.stdout.write(summary(report))
                    busy = busy or report.handled >= batch
                    if stopping:
                        break
            except Exception:  # noqa: BLE001 — e.g. the database restarting: keep going
                # What was claimed stays claimed until the claim lapses, then is retried.
                logger.exception("Delivery round failed; trying again shortly")
                close_old_connections()
                busy = False
            if not busy and not stopping:
                time.sleep(interval)
