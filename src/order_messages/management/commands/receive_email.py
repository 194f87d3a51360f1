"""Inbound reply by e-mail, piped from the MTA: one raw RFC 822 message on standard input.

Postfix, for example (master.cf), for the reply domain:
    order-messages unix - n n - - pipe
      user=shop argv=/srv/shop/.venv/bin/python /srv/shop/manage.py receive_email
      --recipient ${original_recipient}

The exit code tells the MTA what to do: 0 taken (posted, kept for staff, or ignored),
65 bounce (unreadable or too large), 67 bounce (expired reply address), 75 try again
later (rate limited, database unavailable).
"""

import sys

from django.core.management.base import BaseCommand
from django.db import DatabaseError

from ...errors import ScanUnavailable
from ...notifications.inbound import EX_TEMPFAIL, RateLimited, receive

MESSAGES = {
    65: "This e-mail could not be read or is too large.",
    67: "This reply address has expired. Please answer on the shop's website; "
    "the link is in the e-mail you replied to.",
}


class Command(BaseCommand):
    help = "Receive one e-mail (RFC 822) on standard input and post it as a reply."

    def add_arguments(self, parser):
        parser.add_argument(
            "--recipient", default="", help="The envelope recipient, as the MTA delivered it."
        )

    def handle(self, *args, recipient, **options):
        raw = sys.stdin.buffer.read()
        try:
            outcome = receive(raw, envelope_recipient=recipient)
        except RateLimited:
            self.stderr.write("Too many e-mails from this sender; try again later.")
            sys.exit(EX_TEMPFAIL)
        except DatabaseError as error:
            self.stderr.write(f"Temporarily unable to store the e-mail: {error}")
            sys.exit(EX_TEMPFAIL)
        except ScanUnavailable:
            self.stderr.write(
                "The virus scanner cannot check the attachments now; try again later."
            )
            sys.exit(EX_TEMPFAIL)
        self.stdout.write(f"{outcome.status}{': ' + outcome.reason if outcome.reason else ''}")
        if outcome.exit_code:
            self.stderr.write(MESSAGES.get(outcome.exit_code, outcome.reason))
            sys.exit(outcome.exit_code)
