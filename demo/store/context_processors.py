from django.conf import settings


def demo(request):
    """``demo_pages``: whether the demo's mailbox and webhook pages exist (not in production)."""
    return {"demo_pages": getattr(settings, "DEMO_MAILBOX", False)}
