"""What a page does when the person may not see what they asked for."""

from __future__ import annotations

import functools

from django.contrib.auth.views import redirect_to_login
from django.core import signing
from django.http import Http404
from django.shortcuts import render
from django_htmx.middleware import HtmxDetails

from ..conf import app_settings


def htmx(request) -> HtmxDetails:
    """What htmx says about the request, with or without django-htmx's middleware."""
    details = getattr(request, "htmx", None)
    return details if isinstance(details, HtmxDetails) else HtmxDetails(request)


def login_if_anonymous(view):
    """A logged-out customer following a link from an e-mail is asked to log in rather than
    told the order does not exist. Guests get in through their signed link instead."""

    @functools.wraps(view)
    def wrapper(request, *args, **kwargs):
        try:
            return view(request, *args, **kwargs)
        except Http404:
            if request.user.is_authenticated:
                raise
            return redirect_to_login(request.get_full_path())

    return wrapper


def link_refused(request, refused: Exception, *, template: str):
    """The page for a signed link from an e-mail that does not open: expired (410, it says
    so) or not ours (404)."""
    expired = isinstance(refused, signing.SignatureExpired)
    return render(
        request,
        template,
        {"base_template": app_settings.BASE_TEMPLATE, "expired": expired},
        status=410 if expired else 404,
    )
