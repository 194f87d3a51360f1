from django.urls import include, path

from . import webhook_receiver

urlpatterns = [
    path("", include("demo.mailbox.urls")),
    path("webhooks/", webhook_receiver.inbox, name="demo_webhooks"),
    path("webhooks/receive/", webhook_receiver.receive, name="demo_webhooks_receive"),
]
