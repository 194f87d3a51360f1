from django.urls import path

from . import mailbox, webhook_receiver

urlpatterns = [
    path("mailbox/", mailbox.mailbox, name="demo_mailbox"),
    path("mailbox/<int:pk>.eml", mailbox.raw, name="demo_mailbox_raw"),
    path("mailbox/<int:pk>.html", mailbox.html, name="demo_mailbox_html"),
    path("mailbox/<int:pk>/reply/", mailbox.answer, name="demo_mailbox_reply"),
    path("webhooks/", webhook_receiver.inbox, name="demo_webhooks"),
    path("webhooks/receive/", webhook_receiver.receive, name="demo_webhooks_receive"),
]
