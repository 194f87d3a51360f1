from django.urls import path

from demo.urls import urlpatterns as demo_urlpatterns

from .floor import floor

urlpatterns = [path("bench/floor/", floor), *demo_urlpatterns]
