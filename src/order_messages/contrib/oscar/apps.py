from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OscarConfig(AppConfig):
    name = "order_messages.contrib.oscar"
    label = "order_messages_oscar"
    verbose_name = _("Order messages for django-oscar")

    def ready(self):
        from . import signals
        from .navigation import add_dashboard_entry

        add_dashboard_entry()
        signals.connect()
