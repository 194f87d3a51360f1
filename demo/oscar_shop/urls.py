from django.apps import apps
from django.conf import settings
from django.contrib import admin
from django.urls import include, path

from order_messages.api import api as order_messages_api

urlpatterns = [
    path("admin/", admin.site.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    path("messages/", include("order_messages.urls")),
    path("api/v1/", order_messages_api.urls),
    path("", include(apps.get_app_config("oscar").urls[0])),
]

handler400 = "order_messages.views.bodies.bad_request"

if getattr(settings, "DEMO_MAILBOX", False):
    urlpatterns.insert(0, path("demo/", include("demo.mailbox.urls")))
