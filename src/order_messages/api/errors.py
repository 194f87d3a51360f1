"""One error shape for every refusal: ``{"error": {"code": "…", "message": "…"}}``.

The codes are stable; the messages are for people and come in the request's language.
"""

from __future__ import annotations

from django.core.exceptions import (
    PermissionDenied,
    RequestDataTooBig,
    TooManyFieldsSent,
    TooManyFilesSent,
)
from django.db import InterfaceError, OperationalError
from django.http import Http404
from django.http.multipartparser import MultiPartParserError
from django.http.request import RawPostDataException
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from ninja.errors import AuthenticationError, HttpError, ValidationError

from ..conf import app_settings
from ..errors import OrderMessagesError, Throttled, http_status
from ..middleware import RETRY_AFTER, log_unavailable
from .auth import InvalidToken

HTTP_CODES = {
    401: "not_authenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    429: "throttled",
}


class ApiError(Exception):
    """A refusal particular to the API, with its own code."""

    def __init__(self, status: int, code: str, message):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


class IdempotencyKeyReused(ApiError):
    def __init__(self):
        super().__init__(
            422,
            "idempotency_key_reused",
            _("This Idempotency-Key was already used for a different request."),
        )


class AttachmentPosted(ApiError):
    """Removing a file that was sent: it stays, as part of the conversation's record."""

    def __init__(self):
        super().__init__(
            409,
            "attachment_posted",
            _("This file was sent with a message and stays in the conversation."),
        )


def error_body(code: str, message, details: list | None = None) -> dict:
    error = {"code": code, "message": str(message)}
    if details is not None:
        error["details"] = details
    return {"error": error}


def install(api) -> None:
    """Register the handlers on a NinjaAPI, replacing ninja's own shapes."""

    def respond(request, status, code, message, details=None):
        return api.create_response(request, error_body(code, message, details), status=status)

    def on_validation_error(request, exc: ValidationError):
        details = [
            {"location": [str(part) for part in error.get("loc", ())], "message": error["msg"]}
            for error in exc.errors
        ]
        return respond(
            request, 422, "validation_error", gettext("The request is not valid."), details
        )

    def on_authentication_error(request, exc: AuthenticationError):
        message = exc.message if isinstance(exc, InvalidToken) else None
        response = respond(
            request,
            401,
            "not_authenticated",
            message or gettext("Please log in, or send an API token."),
        )
        response["WWW-Authenticate"] = "Bearer"
        return response

    def on_http_error(request, exc: HttpError):
        status = exc.status_code
        if status == 400 and not _is_utf8(request):
            return respond(
                request,
                400,
                "bad_encoding",
                gettext("The body is not UTF-8. Send JSON encoded as UTF-8."),
            )
        if status == 400:  # ninja's only 400: a body that is not JSON
            return respond(
                request,
                422,
                "validation_error",
                gettext("The request is not valid."),
                [{"location": ["body"], "message": gettext("The body is not valid JSON.")}],
            )
        if status == 403:  # ninja's only 403 is a failed CSRF check of a session request
            message = gettext(
                "The CSRF check failed. Send the CSRF token with requests that use the "
                "session, or use an API token."
            )
        else:
            message = str(exc)
        return respond(request, status, HTTP_CODES.get(status, "error"), message)

    def on_bad_multipart(request, exc):
        # Django would answer its HTML 400 page; a client of the API gets the error shape.
        return respond(
            request,
            422,
            "validation_error",
            gettext("The request is not valid."),
            [
                {
                    "location": ["body"],
                    "message": gettext("The body is not valid multipart/form-data."),
                }
            ],
        )

    def on_not_found(request, exc):
        return respond(request, 404, "not_found", gettext("No such order or conversation."))

    def on_permission_denied(request, exc):
        return respond(
            request, 403, "forbidden", str(exc) or gettext("You are not allowed to do this.")
        )

    def on_order_messages_error(request, exc: OrderMessagesError):
        if isinstance(exc, Throttled):
            response = respond(request, http_status(exc), exc.code, " ".join(exc.messages))
            response["Retry-After"] = str(exc.retry_after)
            return response
        return respond(request, http_status(exc), exc.code, " ".join(exc.messages))

    def on_too_large(request, exc):
        return respond(
            request,
            413,
            "too_large",
            gettext(
                "The request body is too large. A message can have at most %(limit)d characters."
            )
            % {"limit": app_settings.MAX_MESSAGE_LENGTH},
        )

    def on_api_error(request, exc: ApiError):
        return respond(request, exc.status, exc.code, exc.message)

    def on_database_unavailable(request, exc):
        log_unavailable(request, exc)
        response = respond(
            request,
            503,
            "unavailable",
            gettext("The service is briefly unavailable. Please try again in a few seconds."),
        )
        response["Retry-After"] = str(RETRY_AFTER)
        return response

    api.add_exception_handler(ValidationError, on_validation_error)
    api.add_exception_handler(AuthenticationError, on_authentication_error)
    api.add_exception_handler(HttpError, on_http_error)
    api.add_exception_handler(MultiPartParserError, on_bad_multipart)
    api.add_exception_handler(Http404, on_not_found)
    api.add_exception_handler(PermissionDenied, on_permission_denied)
    api.add_exception_handler(OrderMessagesError, on_order_messages_error)
    for too_large in (RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent):
        api.add_exception_handler(too_large, on_too_large)
    api.add_exception_handler(ApiError, on_api_error)
    # The database restarting or out of reach: the client may retry, with the same
    # Idempotency-Key for a post, and nothing is written twice.
    api.add_exception_handler(OperationalError, on_database_unavailable)
    api.add_exception_handler(InterfaceError, on_database_unavailable)


def _is_utf8(request) -> bool:
    try:
        request.body.decode("utf-8")
    except RawPostDataException:
        return True  # not read as a whole, so not what failed to parse
    except UnicodeDecodeError:
        return False
    return True
