"""A URLconf that mounts every django-anymail webhook, as a store might by hand."""

from django.urls import include, path

urlpatterns = [path("anymail/", include("anymail.urls"))]
