"""The demo mailbox: the app's e-mails are stored for /demo/mailbox/, which anyone may read;
every e-mail is also sent through SMTP when EMAIL_HOST is set."""

from django.conf import settings
from django.core.mail.backends.base import BaseEmailBackend
from django.core.mail.backends.smtp import EmailBackend as SMTPBackend


def is_the_apps(email) -> bool:
    """Whether this is one of the app's notification e-mails: its Message-ID is that of a
    notification the worker is sending. Everything else the store sends (password resets
    above all) stays out of the public mailbox, whatever headers it carries."""
    from order_messages.models import Notification

    message_id = str(email.extra_headers.get("Message-ID", "")).strip()
    return bool(message_id) and Notification.objects.filter(message_id=message_id).exists()


class MailboxBackend(BaseEmailBackend):
    def send_messages(self, email_messages):
        from .models import DemoEmail

        for email in email_messages:
            if is_the_apps(email):
                DemoEmail.record(email)
        if settings.EMAIL_HOST:
            SMTPBackend(fail_silently=self.fail_silently).send_messages(email_messages)
        return len(email_messages)
