from django.conf import settings
from django.contrib import admin
from django.templatetags.static import static
from django.urls import include, path
from django.utils.functional import lazy
from django.views.generic import RedirectView

from order_messages.api import api as order_messages_api

urlpatterns = [
    path("admin/", admin.site.urls),
    # Pages that name no icon (the admin's) make the browser ask for this one. Its address
    # is asked for on the first request: in production the static files' manifest is
    # written by collectstatic, after this module is imported.
    path(
        "favicon.ico",
        RedirectView.as_view(url=lazy(static, str)("store/favicon.svg"), permanent=True),
    ),
    path("i18n/", include("django.conf.urls.i18n")),
    # Inbound mail from the providers in ORDER_MESSAGES_INBOUND_PROVIDERS, and no others.
    path("anymail/", include("order_messages.inbound_urls")),
    path("accounts/", include("django.contrib.auth.urls")),
    path("messages/", include("order_messages.urls")),
    path("api/v1/", order_messages_api.urls),
    path("", include("demo.store.urls")),
]

# A body over the size limits, found by the CSRF check before any view: 413, not 400.
handler400 = "order_messages.views.bodies.bad_request"

if getattr(settings, "DEMO_MAILBOX", False):
    urlpatterns.insert(0, path("demo/", include("demo.store.mailbox_urls")))
