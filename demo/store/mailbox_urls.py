from django.urls import path

from . import views

urlpatterns = [path("mailbox/", views.mailbox, name="demo_mailbox")]
