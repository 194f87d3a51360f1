from django.apps import AppConfig


class StoreConfig(AppConfig):
    name = "demo.store"
    label = "store"
    verbose_name = "Demo store"
    default_auto_field = "django.db.models.BigAutoField"
