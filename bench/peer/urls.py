from django.shortcuts import render
from django.urls import include, path

from ..floor import floor, page_floor


def badge(request):
    """The header badge as a postman site shows it: its unread count (context processor)."""
    return render(request, "badge.html")


urlpatterns = [
    path("bench/floor/", floor),
    path("bench/page/", page_floor),
    path("bench/unread/", badge),
    path("messages/", include("postman.urls", namespace="postman")),
]
