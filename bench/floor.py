from django.http import HttpResponse
from django.shortcuts import render


def floor(request):
    """The framework floor: the same middleware and server, the session and the user read
    as on every logged-in page, and nothing else."""
    return HttpResponse(f"user {request.user.pk}", content_type="text/plain")


def page_floor(request):
    """The site's page chrome (header, account menu, footer) around nothing: what every
    page of the shop costs before its own content."""
    return render(request, "page_floor.html")
