"""Roll the messages up into the response figures now, rather than at the worker's next
round; ``--rebuild`` forgets them and counts every message again."""

import datetime as dt

from django.core.management.base import BaseCommand
from django.db.models import Max

from ...actions.metrics import BATCH, LAG, WATERMARK, reset_responses, roll_up_all
from ...models import Message, Watermark


class Command(BaseCommand):
    help = (
        "Add the messages written since the last roll-up into the dashboard's response "
        "figures (the notification worker does this every DISPUTE_CLOCK_SECONDS); "
        "--rebuild starts again from the first message."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--rebuild",
            action="store_true",
            help="Delete the rolled-up figures and read every message again (after "
            "changing metrics.BUCKETS, or to repair them).",
        )
        parser.add_argument(
            "--batch", type=int, default=BATCH, help="Messages added per transaction."
        )
        parser.add_argument(
            "--lag",
            type=float,
            default=LAG.total_seconds(),
            help="Seconds a message must be old to be counted (a later round counts the "
            "younger ones).",
        )

    def handle(self, *args, rebuild, batch, lag, verbosity, **options):
        if rebuild:
            reset_responses()
        start = Watermark.objects.filter(name=WATERMARK).values_list("last_id", flat=True).first()
        last = Message.objects.aggregate(n=Max("pk"))["n"] or 0
        bar = self.progress_bar(start=start or 0, end=last) if verbosity else None
        try:
            added = roll_up_all(
                lag=dt.timedelta(seconds=lag),
                batch=batch,
                wait=True,
                progress=bar.update_to if bar else None,
            )
        finally:
            if bar:
                bar.close()
        if verbosity:
            self.stdout.write(f"Rolled up {added:,} messages.")

    def progress_bar(self, *, start: int, end: int):
        """Progress by message id (counting the messages would read them all)."""
        try:
            from tqdm import tqdm
        except ImportError:  # tqdm comes with the dev extras
            return TextBar(self.stderr, start=start, end=end)
        bar = tqdm(total=max(end - start, 0), unit="id", unit_scale=True, file=self.stderr._out)
        bar.update_to = lambda last_id: bar.update(max(0, min(last_id, end) - start - bar.n))
        return bar


class TextBar:
    """The progress bar of check_unread_counts, for where tqdm is not installed."""

    def __init__(self, out, *, start: int, end: int):
        self.out, self.start, self.total = out, start, max(end - start, 0)

    def update_to(self, last_id: int) -> None:
        done = min(max(last_id - self.start, 0), self.total)
        width = 30
        filled = width * done // self.total if self.total else width
        self.out.write(
            f"\r[{'#' * filled}{'.' * (width - filled)}] {done:,}/{self.total:,} message ids",
            ending="",
        )

    def close(self) -> None:
        self.out.write("")
