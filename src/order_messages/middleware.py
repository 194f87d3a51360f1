"""A short "try again in a moment" page, status 503, while the database cannot be reached
(restarting, failing over, out of connections), instead of a 500 and its traceback.

The JSON API answers the same with its own error shape (``api/errors.py``).
"""

from __future__ import annotations

import logging

from django.db import InterfaceError, OperationalError
from django.http import HttpResponse
from django.template.loader import render_to_string
from django.utils.deprecation import MiddlewareMixin

logger = logging.getLogger(__name__)

# Seconds a client is asked to wait before trying again.
RETRY_AFTER = 10


def is_database_unavailable(error: BaseException) -> bool:
    """A lost or refused connection, a pool that gave up waiting, a server shutting down:
    the DB-API's OperationalError and InterfaceError are about the database, not the
    request, and a later try may succeed."""
    return isinstance(error, OperationalError | InterfaceError)


def log_unavailable(request, error: BaseException) -> None:
    logger.warning("Database unavailable for %s %s: %s", request.method, request.path, error)


class DatabaseUnavailableMiddleware(MiddlewareMixin):
    """Answers 503 with ``Retry-After`` when a view fails for want of the database. Put it
    anywhere in ``MIDDLEWARE``: Django asks every middleware about a view's exception."""

    def process_exception(self, request, exception):
        if not is_database_unavailable(exception):
            return None
        log_unavailable(request, exception)
        # Rendered without the request: its context processors would ask the database.
        # A GET reloads itself; a form that was being sent is left for the person to resend.
        page = render_to_string(
            "order_messages/unavailable.html",
            {"retry_after": RETRY_AFTER, "reload": request.method in ("GET", "HEAD")},
        )
        response = HttpResponse(page, status=503)
        response["Retry-After"] = str(RETRY_AFTER)
        response["Cache-Control"] = "no-store"
        return response
