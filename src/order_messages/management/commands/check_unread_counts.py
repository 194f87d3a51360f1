"""Check every stored unread count against a recount of the messages, and repair them."""

from django.core.management.base import BaseCommand, CommandError

from ...actions.counters import repair_counters, repair_participants
from ...models import Participant
from ...queries.counts import miscounted_participants, miscounted_users


class Command(BaseCommand):
    help = (
        "Check every participant's unread count against the messages after the last one "
        "they read, and every badge counter against its participants; --repair fixes them."
    )

    def add_arguments(self, parser):
        parser.add_argument("--repair", action="store_true", help="Fix what is wrong.")
        parser.add_argument(
            "--batch", type=int, default=2000, help="Participant rows checked at a time."
        )

    def handle(self, *args, repair, batch, verbosity, **options):
        total = Participant.objects.count()
        checked, wrong_participants, after = 0, 0, 0
        while True:
            wrong, last = miscounted_participants(after=after, size=batch)
            if last is None:
                break
            if wrong and repair:
                repair_participants(keys=wrong)
            wrong_participants += len(wrong)
            checked = min(total, checked + batch)
            after = last
            if verbosity:
                self.progress(checked, total)
        if verbosity and total:
            self.stderr.write("")
        # After the participants, so that repaired rows are summed.
        users = miscounted_users()
        if users and repair:
            repair_counters(user_ids=users)

        summary = (
            f"Checked {total:,} participants: {wrong_participants:,} unread counts and "
            f"{len(users):,} badge counters were wrong"
        )
        if (wrong_participants or users) and not repair:
            raise CommandError(summary + "; run again with --repair to fix them.")
        self.stdout.write(
            summary + ("; repaired." if repair and (wrong_participants or users) else ".")
        )

    def progress(self, done: int, total: int) -> None:
        width = 30
        filled = width * done // total if total else width
        self.stderr.write(
            f"\r[{'#' * filled}{'.' * (width - filled)}] {done:,}/{total:,} participants",
            ending="",
        )
