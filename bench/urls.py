from django.urls import path

from demo.urls import urlpatterns as demo_urlpatterns

from .floor import floor, page_floor

urlpatterns = [
    path("bench/floor/", floor),
    path("bench/page/", page_floor),
    *demo_urlpatterns,
]
