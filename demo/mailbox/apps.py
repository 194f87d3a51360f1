from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MailboxConfig(AppConfig):
    """The demo mailbox, shared by both demo stores (demo settings only)."""

    name = "demo.mailbox"
    label = "demo_mailbox"
    verbose_name = _("Demo mailbox")
    default_auto_field = "django.db.models.BigAutoField"
