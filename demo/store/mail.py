"""The demo mailbox: every e-mail is stored for /demo/mailbox/, and also sent through
SMTP when EMAIL_HOST is set."""

from django.conf import settings
from django.core.mail.backends.base import BaseEmailBackend
from django.core.mail.backends.smtp import EmailBackend as SMTPBackend


class MailboxBackend(BaseEmailBackend):
    def send_messages(self, email_messages):
        from .models import DemoEmail

        for email in email_messages:
            DemoEmail.record(email)
        if settings.EMAIL_HOST:
            SMTPBackend(fail_silently=self.fail_silently).send_messages(email_messages)
        return len(email_messages)
