"""The notification worker: delivers due e-mails, then due webhooks, from the outbox until
stopped."""

import logging
import signal
import time

from django.core.management.base import BaseCommand
from django.db import close_old_connections

from ...notifications.worker import deliver_all, deliver_due
from ...webhooks import delivery as webhooks

logger = logging.getLogger(__name__)


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
            report = deliver_all()
            self.stdout.write(self._summary(report))
            hooks = webhooks.deliver_all()
            if hooks.handled:
                self.stdout.write(self._webhooks_summary(hooks))
            return
        stopping = False

        def stop(signum, frame):
            nonlocal stopping
            stopping = True  # finish the e-mail or webhook in hand, then leave

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        self.stdout.write(f"Delivering notifications (polling every {interval:g}s).")
        while not stopping:
            try:
                report = deliver_due(limit=batch)
                if report.handled and verbosity:
                    self.stdout.write(self._summary(report))
                if stopping:
                    break
                hooks = webhooks.deliver_due(limit=batch)
                if hooks.handled and verbosity:
                    self.stdout.write(self._webhooks_summary(hooks))
                busy = report.handled >= batch or hooks.handled >= batch
            except Exception:  # noqa: BLE001 — e.g. the database restarting: keep going
                # What was claimed stays claimed until the claim lapses, then is retried.
                logger.exception("Delivery round failed; trying again shortly")
                close_old_connections()
                busy = False
            if not busy:
                time.sleep(interval)

    @staticmethod
    def _summary(report):
        return (
            f"sent {report.sent}, not needed {report.skipped}, "
            f"to retry {report.retrying}, failed {report.failed}"
        )

    @staticmethod
    def _webhooks_summary(report):
        return (
            f"webhooks delivered {report.delivered}, "
            f"to retry {report.retrying}, failed {report.failed}"
        )
