from django.apps import AppConfig


class OscarShopConfig(AppConfig):
    """The Oscar demo shop: its seed command and the few templates it changes."""

    name = "demo.oscar_shop"
    label = "oscar_shop"
    verbose_name = "Oscar demo shop"
