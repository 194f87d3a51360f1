"""A site that puts the language in its paths (i18n_patterns), as django-oscar's does."""

from django.conf.urls.i18n import i18n_patterns
from django.urls import include, path

urlpatterns = i18n_patterns(path("messages/", include("order_messages.urls")))
