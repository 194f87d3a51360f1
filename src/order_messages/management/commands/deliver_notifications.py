"""The notification worker: delivers due e-mails, then due webhooks, from the outbox until
stopped. Both go through the one delivery engine (``queue.py``), a channel each."""

import logging
import signal
import time

from django.core.management.base import BaseCommand
from django.db import close_old_connections

from ... import queue
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


class Command(BaseCommand):
    help = (
        "Deliver notification e-mails and webhooks from the outbox "
        "(run one or more beside the web server)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--once", action="store_true", help="Deliver what is due, then exit.")
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
            return
        stopping = False

        def stop(signum, frame):
            nonlocal stopping
            stopping = True  # finish the e-mail or webhook in hand, then leave

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        self.stdout.write(f"Delivering notifications (polling every {interval:g}s).")
        while not stopping:
            busy = False
            try:
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
