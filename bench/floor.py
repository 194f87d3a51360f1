from django.http import HttpResponse


def floor(request):
    """The framework floor: the same middleware and server, the session and the user read
    as on every logged-in page, and nothing else."""
    return HttpResponse(f"user {request.user.pk}", content_type="text/plain")
