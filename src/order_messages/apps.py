from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OrderMessagesConfig(AppConfig):
    name = "order_messages"
    verbose_name = _("Order messages")
    default_auto_field = "django.db.models.BigAutoField"
