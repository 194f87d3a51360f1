"""Form posts the pages refuse before a form reads them: bodies over Django's size limits
(413), text that is not UTF-8 and files (400). Left to Django, the first get a bare 400
page, the second are decoded with replacement characters and stored as "��", and the
third are read to disk and dropped without a word.
"""

from __future__ import annotations

import functools
from urllib.parse import parse_qsl

from django.conf import settings
from django.core.exceptions import (
    BadRequest,
    RequestDataTooBig,
    TooManyFieldsSent,
    TooManyFilesSent,
)
from django.http.multipartparser import MultiPartParserError
from django.http.request import RawPostDataException
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views import defaults

from ..conf import app_settings

TOO_LARGE = (RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent)


def refusal(request, *, status: int, message: str):
    return render(
        request,
        "order_messages/refused.html",
        {"base_template": app_settings.BASE_TEMPLATE, "status": status, "message": message},
        status=status,
    )


def too_large(request):
    return refusal(
        request,
        status=413,
        message=_("This request is too large. A message can have at most %(limit)d characters.")
        % {"limit": app_settings.MAX_MESSAGE_LENGTH},
    )


def not_utf8(request):
    return refusal(
        request, status=400, message=_("The text was not sent as UTF-8 and cannot be read.")
    )


def _declared_too_large(request, *, files: bool) -> bool:
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    if files and limit is not None and request.content_type == "multipart/form-data":
        # Files do not count against DATA_UPLOAD_MAX_MEMORY_SIZE: room for the most a
        # message may carry, and the multipart framing around them.
        limit += app_settings.ATTACHMENT_MAX_FILES * (app_settings.ATTACHMENT_MAX_BYTES + 4096)
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return False
    return limit is not None and declared > limit


def _is_utf8_form(request) -> bool:
    if request.content_type == "application/x-www-form-urlencoded":
        # The raw body is kept once read (by the CSRF check, or here), so the bytes can be
        # decoded again, strictly this time.
        try:
            parse_qsl(request.body.decode("utf-8"), keep_blank_values=True, errors="strict")
        except UnicodeDecodeError:
            return False
        return True
    # Django decodes multipart fields with replacement characters and may have consumed
    # the raw body already; no browser posts these forms as multipart, so a replacement
    # character there is taken for what it almost always is: bytes that were not UTF-8.
    return not any("\ufffd" in value for _name, values in request.POST.lists() for value in values)


def check_form_post(view=None, *, files: str | None = None):
    """Let a POST through only if the form can read it as it was sent. ``files``: the one
    field that may carry files (the others take none, and a form without it none at all)."""
    if view is None:
        return functools.partial(check_form_post, files=files)

    @functools.wraps(view)
    def wrapper(request, *args, **kwargs):
        if request.method != "POST":
            return view(request, *args, **kwargs)
        if _declared_too_large(request, files=files is not None):
            return too_large(request)
        try:
            if request.content_type != "multipart/form-data" or files is None:
                try:
                    request.body  # noqa: B018 — reads and keeps the body, within the limit
                except RawPostDataException:
                    pass  # already parsed from the stream (multipart, by the CSRF check)
            if set(request.FILES) - {files}:
                return refusal(request, status=400, message=_("This form does not take files."))
            if not _is_utf8_form(request):
                return not_utf8(request)
        except BadRequest:  # a url-encoded form declared in another charset
            return not_utf8(request)
        except TOO_LARGE:
            return too_large(request)
        except MultiPartParserError:
            return refusal(request, status=400, message=_("The form data cannot be read."))
        return view(request, *args, **kwargs)

    return wrapper


def bad_request(request, exception):
    """A ``handler400`` for the host's URLconf: a body over the limits, found before a view
    runs (the CSRF check reads the form), is 413 with the same page as in the views."""
    if isinstance(exception, TOO_LARGE):
        return too_large(request)
    return defaults.bad_request(request, exception)
