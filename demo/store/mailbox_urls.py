from django.urls import path

from . import mailbox

urlpatterns = [
    path("mailbox/", mailbox.mailbox, name="demo_mailbox"),
    path("mailbox/<int:pk>.eml", mailbox.raw, name="demo_mailbox_raw"),
    path("mailbox/<int:pk>/reply/", mailbox.answer, name="demo_mailbox_reply"),
]
