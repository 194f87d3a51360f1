from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OrderMessagesConfig(AppConfig):
    name = "order_messages"
    verbose_name = _("Order messages")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from anymail.signals import inbound
        from django.core import checks
        from django.db.models.signals import post_migrate, pre_migrate

        from .checks import (
            check_attachment_settings,
            check_dispute_settings,
            check_inbound_webhooks,
            check_live_settings,
        )
        from .search_index import drop_triggers, restore_triggers

        inbound.connect(on_anymail_inbound, dispatch_uid="order_messages.inbound")
        pre_migrate.connect(drop_triggers, sender=self, dispatch_uid="order_messages.search")
        post_migrate.connect(restore_triggers, sender=self, dispatch_uid="order_messages.search")
        checks.register(check_inbound_webhooks, checks.Tags.security)
        checks.register(check_attachment_settings)
        checks.register(check_dispute_settings)
        checks.register(check_live_settings)


def on_anymail_inbound(sender, event, esp_name, **kwargs):
    """Every provider's inbound webhook (django-anymail) ends here."""
    from anymail.exceptions import AnymailWebhookValidationFailure

    from .checks import OPEN, inbound_view_problem
    from .notifications.inbound import handle_anymail_inbound

    # A server does not run the system checks: mail from a webhook anyone may call (no
    # WEBHOOK_SECRET) is refused here too, with a 400, rather than posted as its sender.
    if isinstance(sender, type) and inbound_view_problem(sender) == OPEN:
        raise AnymailWebhookValidationFailure(
            f"The {esp_name} inbound webhook is open to anyone (no WEBHOOK_SECRET): refused."
        )
    handle_anymail_inbound(sender, event=event, esp_name=esp_name, **kwargs)
