"""One error shape for every refusal: ``{"error": {"code": "…", "message": "…"}}``.

The codes are stable; the messages are for people and come in the request's language.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from functools import wraps

from django.core.exceptions import (
    PermissionDenied,
    RequestDataTooBig,
    TooManyFieldsSent,
    TooManyFilesSent,
)
from django.db import InterfaceError, OperationalError
from django.http import Http404, HttpResponseNotAllowed
from django.http.multipartparser import MultiPartParserError
from django.http.request import RawPostDataException
from django.urls import URLPattern, re_path
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.csrf import csrf_exempt
from ninja.errors import AuthenticationError, HttpError, ValidationError

from ..conf import app_settings
from ..errors import OrderMessagesError, Throttled, http_status
from ..middleware import RETRY_AFTER, log_unavailable
from .auth import InvalidToken
from .schemas import Error

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


class InvalidCursor(ApiError):
    """An ``after`` that is not a cursor the list gave out (see cursors.py)."""

    def __init__(self):
        super().__init__(
            422,
            "invalid_cursor",
            _("This cursor is not valid: ask for the first page again."),
        )


class AttachmentPosted(ApiError):
    """Removing a file that was sent: it stays, as part of the conversation's record."""

    def __init__(self):
        super().__init__(
            409,
            "attachment_posted",
            _("This file was sent with a message and stays in the conversation."),
        )


#: What a 404 says, by the message of the Http404 raised (mostly by the policy's access_*
#: functions). The words are the same whether the thing does not exist or may not be seen,
#: so neither is revealed.
NOT_FOUND = {
    "No such vendor.": _("No such vendor."),
    "No such file.": _("No such file."),
    "No such saved reply.": _("No such saved reply."),
    "No such muted conversation.": _("No such muted conversation."),
    "No such token.": _("No such API token."),
    "No such webhook endpoint.": _("No such webhook endpoint."),
}
#: For orders and conversations, and any other Http404.
NOT_FOUND_DEFAULT = _("No such order or conversation.")


# -- the OpenAPI document ----------------------------------------------------------------------

RETRY_AFTER_HEADER = {
    "description": "Seconds to wait before trying again.",
    "schema": {"type": "integer", "minimum": 0},
    "example": 10,
}


@dataclass(frozen=True)
class Refusal:
    """How the document describes one refusal status: what it means and the headers the
    handlers below set on it."""

    description: str
    headers: dict = field(default_factory=dict)


REFUSALS = {
    400: Refusal(
        "bad_encoding: a body that is not UTF-8, or text with a NUL character or half a "
        "surrogate pair."
    ),
    401: Refusal(
        "not_authenticated: no token or session, or a token that does not work.",
        {
            "WWW-Authenticate": {
                "description": "How to authenticate: a Bearer token.",
                "required": True,
                "schema": {"type": "string"},
                "example": "Bearer",
            }
        },
    ),
    403: Refusal(
        "forbidden: signed in but not allowed, or a session request without its CSRF token."
    ),
    404: Refusal("not_found: no such item, or one I may not see (they are not told apart)."),
    409: Refusal(
        "A conflict with the present state: dispute_open, invalid_transition, "
        "attachment_unavailable or attachment_posted."
    ),
    413: Refusal("too_large: a body or a file over its limit."),
    422: Refusal(
        "validation_error (details name each invalid field; also a body that is not JSON), "
        "or a value the operation refuses, such as empty, too_long, invalid_choice, "
        "idempotency_key_reused or invalid_cursor (an after that is not this list's)."
    ),
    429: Refusal(
        "throttled: too many in a short time.",
        {"Retry-After": {**RETRY_AFTER_HEADER, "required": True}},
    ),
    503: Refusal(
        "unavailable: the database cannot be reached just now (with Retry-After); "
        "scan_unavailable: the virus scanner cannot be reached (uploads only).",
        {
            "Retry-After": {
                **RETRY_AFTER_HEADER,
                "description": "With unavailable: how many seconds to wait before trying again.",
            }
        },
    ),
}

# What any operation can answer, whatever it does: the database out of reach.
ALWAYS = (503,)
# What comes with authentication: none (401); a session's failed CSRF check on a write (403).
AUTHENTICATED, CSRF_CHECKED = (401,), (403,)
# What comes with a JSON body: not UTF-8 (400), too large (413), not JSON (422).
JSON_BODY = (400, 413, 422)
UNSAFE_METHODS = {"post", "put", "patch", "delete"}
ERROR_REF = "#/components/schemas/Error"


def documented(
    answers: dict,
    *refusals: int,
    headers: dict[int, dict] | None = None,
    openapi_extra: dict | None = None,
) -> dict:
    """The ``response`` (and ``openapi_extra``) of an operation, for its decorator::

        @router.get("/things/{id}", **documented({200: ThingOut}, 401, 404, 422), ...)

    ``answers`` are its successful answers (status: schema or None); each of
    ``refusals`` is answered in the error shape. complete_document describes each with
    the headers the handlers set on it (REFUSALS), and adds those that follow from how the
    operation is called (503 always, 401 and CSRF's 403, a JSON body's 400, 413 and 422);
    list them all anyway, so that the decorator reads as the operation's contract.
    ``headers`` adds response headers particular to the operation, by status
    (``{201: REPLAYED_HEADER}``); ``openapi_extra`` is passed on to django-ninja."""
    if unknown := [status for status in refusals if status not in REFUSALS]:
        raise ValueError(f"No refusal is described for {unknown}: add it to REFUSALS.")
    if clash := set(refusals) & set(answers):
        raise ValueError(f"{sorted(clash)} are both answers and refusals.")
    # A copy: django-ninja puts these dicts into the document it builds.
    extra = copy.deepcopy(openapi_extra or {})
    for status, more in (headers or {}).items():
        # Keyed by int like django-ninja's own responses, so the two merge.
        answer = extra.setdefault("responses", {}).setdefault(status, {})
        answer.setdefault("headers", {}).update(copy.deepcopy(more))
    return {
        "response": {**answers, **dict.fromkeys(refusals, Error)},
        **({"openapi_extra": extra} if extra else {}),
    }


def complete_document(document: dict) -> dict:
    """Write into an OpenAPI document what the handlers in ``install`` answer whatever the
    endpoint: 503 everywhere; 401 where authentication is needed, 403 for a write that a
    session may make (its CSRF check); 400, 413 and 422 where a JSON body is read. Then
    describe each refusal in the error shape, with its headers (REFUSALS)."""
    schemes = document.get("components", {}).get("securitySchemes", {})
    cookies = {name for name, scheme in schemes.items() if scheme.get("in") == "cookie"}
    for methods in document.get("paths", {}).values():
        for method, operation in methods.items():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            implied = set(ALWAYS)
            security = operation.get("security") or []
            if security:
                implied.update(AUTHENTICATED)
                if method in UNSAFE_METHODS and any(cookies & set(way) for way in security):
                    implied.update(CSRF_CHECKED)
            if "application/json" in operation.get("requestBody", {}).get("content", {}):
                implied.update(JSON_BODY)
            responses = operation["responses"]
            # Keyed by int while django-ninja builds the document, by str once it is JSON.
            declared = {int(key) for key in responses if str(key).isdigit()}
            for status in sorted(implied - declared):
                responses[status] = {
                    "content": {"application/json": {"schema": {"$ref": ERROR_REF}}}
                }
            for key, response in responses.items():
                refusal = REFUSALS.get(int(key)) if str(key).isdigit() else None
                if refusal is None or not _is_error_shape(response):
                    continue
                response["description"] = refusal.description
                for name, header in refusal.headers.items():
                    response.setdefault("headers", {}).setdefault(name, copy.deepcopy(header))
    return document


def _is_error_shape(response: dict) -> bool:
    content = response.get("content", {}).get("application/json", {})
    return content.get("schema", {}).get("$ref") == ERROR_REF


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
        message = NOT_FOUND.get(str(exc), NOT_FOUND_DEFAULT)
        return respond(request, 404, "not_found", message)

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


def with_every_path_answered(api, patterns: list) -> list:
    """The API's URL patterns, answering in the error shape where django-ninja and Django
    would not: a method the path does not take (405, with its Allow header, instead of
    plain text), and any path that is not the API's (404, instead of the site's HTML page).

    django-ninja's root pattern exists to be reversed (the document's path prefix) and
    answers every request with an HTML 404; the pattern that takes its place matches every
    path under the API, and still reverses to the root."""

    def refuse(request, status, code, message):
        return api.create_response(request, error_body(code, message), status=status)

    @csrf_exempt  # it changes nothing, and a POST to no such path should learn that
    def not_found(request, *args, **kwargs):
        return refuse(request, 404, "not_found", gettext("No such address in the API."))

    def answering_405(view):
        @wraps(view)  # keeps django-ninja's csrf_exempt: the API checks CSRF itself
        def answer(request, *args, **kwargs):
            response = view(request, *args, **kwargs)
            if not isinstance(response, HttpResponseNotAllowed):
                return response
            refusal = refuse(
                request,
                405,
                HTTP_CODES[405],
                gettext("This address does not take %(method)s requests.")
                % {"method": request.method},
            )
            refusal["Allow"] = response["Allow"]
            return refusal

        return answer

    kept = [
        URLPattern(p.pattern, answering_405(p.callback), p.default_args, p.name)
        for p in patterns
        if p.name != "api-root"
    ]
    return [*kept, re_path("", not_found, name="api-root")]


def _is_utf8(request) -> bool:
    try:
        request.body.decode("utf-8")
    except RawPostDataException:
        return True  # not read as a whole, so not what failed to parse
    except UnicodeDecodeError:
        return False
    return True
