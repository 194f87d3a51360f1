from django.urls import path

from . import views

urlpatterns = [
    path("mailbox/", views.mailbox, name="demo_mailbox"),
    path("mailbox/<int:pk>.eml", views.raw, name="demo_mailbox_raw"),
    path("mailbox/<int:pk>.html", views.html, name="demo_mailbox_html"),
    path("mailbox/<int:pk>/reply/", views.answer, name="demo_mailbox_reply"),
]
