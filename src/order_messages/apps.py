from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OrderMessagesConfig(AppConfig):
    name = "order_messages"
    verbose_name = _("Order messages")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from anymail.signals import inbound

        inbound.connect(on_anymail_inbound, dispatch_uid="order_messages.inbound")


def on_anymail_inbound(sender, event, esp_name, **kwargs):
    """Every provider's inbound webhook (django-anymail) ends here."""
    from .notifications.inbound import handle_anymail_inbound

    handle_anymail_inbound(sender, event=event, esp_name=esp_name, **kwargs)
