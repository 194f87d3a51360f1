"""Handing a file to the browser once the policy has let the person see it.

Every answer is a download-safe one: the stored type (sniffed, never the sender's),
``nosniff``, a Content-Security-Policy that lets the file run nothing, and PDFs as
attachments. (Behind nginx's X-Accel-Redirect only the type, Content-Disposition and
Cache-Control reach the browser; its ``internal`` location adds the others:
docs/attachments.md.) How the bytes travel is ORDER_MESSAGES_ATTACHMENT_SERVE: streamed by Django,
handed to nginx (X-Accel-Redirect) or Apache (X-Sendfile), or a redirect to the storage's
short-lived signed URL.
"""

from __future__ import annotations

from urllib.parse import quote

from django.http import FileResponse, HttpResponse, HttpResponseRedirect
from django.utils.http import content_disposition_header

from ..conf import app_settings
from ..models import Attachment
from .storage import attachment_storage

FILE_POLICY = "default-src 'none'; img-src 'self' data:; style-src 'unsafe-inline'; sandbox"


def _headers(response: HttpResponse, *, inline: bool, name: str) -> HttpResponse:
    response["Content-Disposition"] = content_disposition_header(not inline, name)
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = FILE_POLICY
    response["Cross-Origin-Resource-Policy"] = "same-origin"
    response["Referrer-Policy"] = "no-referrer"
    # Only the person asking may see it: no shared cache keeps it.
    response["Cache-Control"] = "private, max-age=3600"
    return response


def file_response(attachment: Attachment, *, thumbnail: bool = False) -> HttpResponse:
    """The file (or its thumbnail) for someone the policy let in."""
    if thumbnail and attachment.thumbnail:
        name, content_type = attachment.thumbnail, "image/webp"
    else:
        name, content_type = attachment.file, attachment.content_type
    # Images are clean copies and may be shown; anything else is only downloaded.
    inline = content_type.startswith("image/")
    storage = attachment_storage()
    how = app_settings.ATTACHMENT_SERVE
    # Thumbnails are small and shown in the shop's own pages, whose Content-Security-Policy
    # allows images from the shop only: they are always streamed.
    if how == "redirect" and not thumbnail:
        disposition = content_disposition_header(not inline, attachment.name)
        url = storage.url(
            name,
            parameters={
                "ResponseContentDisposition": disposition,
                "ResponseContentType": content_type,
            },
            expire=app_settings.ATTACHMENT_REDIRECT_SECONDS,
        )
        response = HttpResponseRedirect(url)
        response["Cache-Control"] = "private, no-store"
        response["Referrer-Policy"] = "no-referrer"
        return response
    if how == "x-accel-redirect":
        response = HttpResponse(content_type=content_type)
        prefix = app_settings.ATTACHMENT_ACCEL_PREFIX.rstrip("/")
        response["X-Accel-Redirect"] = quote(f"{prefix}/{name}")
    elif how == "x-sendfile":
        response = HttpResponse(content_type=content_type)
        response["X-Sendfile"] = storage.path(name)
    else:
        response = FileResponse(storage.open(name, "rb"), content_type=content_type)
    return _headers(response, inline=inline, name=attachment.name)
