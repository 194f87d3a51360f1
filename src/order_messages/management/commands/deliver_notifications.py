"""The notification worker: delivers due e-mails, then due webhooks, from the outbox until
stopped."""

import signal
import time

from django.core.management.base import BaseCommand

from ...notifications.worker import deliver_all, deliver_due
from ...webhooks import delivery as webhooks


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
            report = deliver_due(limit=batch)
            if report.handled and verbosity:
                self.stdout.write(self._summary(report))
            if stopping:
                break
            hooks = webhooks.deliver_due(limit=batch)
            if hooks.handled and verbosity:
                self.stdout.write(self._webhooks_summary(hooks))
            if report.handled < batch and hooks.handled < batch:
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
