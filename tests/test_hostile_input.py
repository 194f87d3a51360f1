"""Hostile input on every way in (SPEC 9 "bad input"): oversized bodies and uploads, bytes
that are not UTF-8, NUL characters, unusable headers, tokens and query strings. Each gets
a clear answer, never a server error, and changes nothing.

Which status: a body over Django's limits (DATA_UPLOAD_MAX_MEMORY_SIZE, also counting
files, which these forms do not take; DATA_UPLOAD_MAX_NUMBER_FIELDS) is 413; bytes that
are not UTF-8, and files, are 400. Text a person typed that may not be sent (empty, too
long, a NUL character) is a form error with 422 on the pages, as every form error there;
the API answers 400 ``bad_encoding`` for NUL characters and text that is not UTF-8, and
422 for the rest.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time

import httpx
import pytest
from django.test import Client
from django.utils import timezone

from order_messages.actions import create_token
from order_messages.guest import make_guest_token
from order_messages.models import ApiToken, IdempotentRequest, InboundMail, NotificationSettings
from order_messages.notifications.tokens import make_reply_address, make_unsubscribe_token
from tests.conftest import conversation_of, snapshot

THREAD = "/messages/orders/1002/bobs-bikes/"
API = "/api/v1/orders/1002/conversations/bobs-bikes"
OVER_LIMIT = 2_621_440 + 1  # Django's DATA_UPLOAD_MAX_MEMORY_SIZE, plus one
BOUNDARY = "hostile-boundary"
MULTIPART = f"multipart/form-data; boundary={BOUNDARY}"
URLENCODED = "application/x-www-form-urlencoded"


def state():
    """snapshot() and the other rows a form post could write."""
    return {
        **snapshot(),
        "tokens": list(ApiToken.objects.order_by("pk").values_list("pk", "name", "revoked_at")),
        "settings": list(NotificationSettings.objects.values_list("pk", "frequency", "language")),
        "idempotent": list(IdempotentRequest.objects.values_list("pk", flat=True)),
        "inbound": list(InboundMail.objects.values_list("pk", flat=True)),
    }


def multipart(*parts: tuple[str, bytes, str | None]) -> bytes:
    """A multipart body of (field name, content, file name or None) parts."""
    body = b""
    for name, content, filename in parts:
        disposition = f'form-data; name="{name}"'
        if filename:
            disposition += f'; filename="{filename}"\r\nContent-Type: application/octet-stream'
        body += f"--{BOUNDARY}\r\nContent-Disposition: {disposition}\r\n\r\n".encode()
        body += content + b"\r\n"
    return body + f"--{BOUNDARY}--\r\n".encode()


# -- form posts ----------------------------------------------------------------------------------

# Every page that takes a form: (who posts, where, its text field).
FORMS = {
    "post a message": ("alice", THREAD, "body"),
    "open a dispute": ("alice", f"{THREAD}dispute/open/", "reason"),
    "close a dispute": ("admin", f"{THREAD}dispute/close/", "confirm"),
    "mark conversations": ("bob", "/messages/mark/", "action"),
    "e-mail preferences": ("alice", "/messages/preferences/", "frequency"),
    "create an API token": ("alice", "/messages/tokens/", "name"),
}
NOT_UTF8 = "The text was not sent as UTF-8 and cannot be read."
NO_FILES = "This form does not take files."
# The forms that take files (in their field "files"): larger bodies are theirs to read.
FILE_FORMS = {"post a message", "open a dispute"}
TOO_LARGE = "This request is too large."

# (body, content type, status, what the page says), for a text field named {f}.
HOSTILE_FORMS = {
    "percent-encoded bytes that are not UTF-8": (
        lambda f: f"{f}=%FF%FEhello".encode(), URLENCODED, 400, NOT_UTF8),
    "raw bytes that are not UTF-8": (
        lambda f: f"{f}=".encode() + b"caf\xe9", URLENCODED, 400, NOT_UTF8),
    "a form declared in another charset": (
        lambda f: f"{f}=caf%E9".encode(), f"{URLENCODED}; charset=latin-1", 400, NOT_UTF8),
    "multipart text that is not UTF-8": (
        lambda f: multipart((f, b"caf\xe9", None)), MULTIPART, 400, NOT_UTF8),
    "a file attached": (
        lambda f: multipart((f, b"Hello", None), ("photo", b"\x89PNG\r\n", "a.png")),
        MULTIPART, 400, NO_FILES),
    "a body over the size limit": (
        lambda f: f"{f}=".encode() + b"x" * OVER_LIMIT, URLENCODED, 413, TOO_LARGE),
    "a file over the size limit": (
        lambda f: multipart((f, b"Hello", None), ("photo", b"\0" * OVER_LIMIT, "big.bin")),
        MULTIPART, 413, TOO_LARGE),
    "more fields than allowed": (
        lambda f: "&".join(f"{f}{i}=x" for i in range(1001)).encode(), URLENCODED, 413, TOO_LARGE),
}  # fmt: skip


@pytest.mark.parametrize("hostile", HOSTILE_FORMS)
@pytest.mark.parametrize("form", FORMS)
def test_a_hostile_form_post_is_refused_clearly_and_changes_nothing(
    client_for, demo, form, hostile
):
    who, path, field = FORMS[form]
    body, content_type, status, says = HOSTILE_FORMS[hostile]
    if form in FILE_FORMS and hostile == "a file over the size limit":
        status, says = 400, NO_FILES  # within their limit, but not in their file field
    before = state()

    response = client_for(who).generic("POST", path, body(field), content_type=content_type)

    assert response.status_code == status
    assert says in response.content.decode()
    assert "Nothing was sent or changed." in response.content.decode()
    assert state() == before


def test_the_same_forms_still_take_a_proper_post(client_for, demo):
    """The refusals above are about the bytes, not the pages: UTF-8 text gets through."""
    alice = client_for("alice")

    assert alice.post(THREAD, {"body": "Café ☕ — grüße"}).status_code == 302
    assert (
        alice.post(THREAD, "body=Caf%C3%A9+%E2%98%95", content_type=URLENCODED).status_code == 302
    )
    assert alice.post("/messages/tokens/", {"name": "Phone ☎"}).status_code == 302
    assert ApiToken.objects.filter(name="Phone ☎").exists()
    bodies = conversation_of("1002", "bobs-bikes").messages.values_list("body", flat=True)
    assert list(bodies.order_by("-seq")[:2]) == ["Café ☕", "Café ☕ — grüße"]


@pytest.fixture
def browser_like(demo):
    """Alice's session with CSRF checks on, as a browser posts: the CSRF check reads the
    form before any view does."""
    client = Client(enforce_csrf_checks=True)
    client.force_login(demo["alice"])
    assert client.get(THREAD).status_code == 200
    return client, client.cookies["csrftoken"].value


@pytest.mark.parametrize(
    "hostile", ["raw bytes that are not UTF-8", "multipart text that is not UTF-8",
                "a file attached", "a body over the size limit", "more fields than allowed"]
)  # fmt: skip
def test_behind_the_csrf_check_the_answers_are_the_same(browser_like, hostile):
    client, token = browser_like
    body, content_type, status, says = HOSTILE_FORMS[hostile]
    if content_type == MULTIPART:
        data = multipart(("csrfmiddlewaretoken", token.encode(), None)) + body("body")
        data = data.replace(f"--{BOUNDARY}--\r\n--{BOUNDARY}".encode(), f"--{BOUNDARY}".encode())
    else:
        data = f"csrfmiddlewaretoken={token}&".encode() + body("body")
    before = state()

    response = client.generic("POST", THREAD, data, content_type=content_type)

    assert response.status_code == status
    assert says in response.content.decode()
    assert state() == before


def test_behind_the_csrf_check_a_proper_post_gets_through(browser_like):
    client, token = browser_like

    response = client.post(THREAD, {"body": "Grüße", "csrfmiddlewaretoken": token})

    assert response.status_code == 302
    assert conversation_of("1002", "bobs-bikes").messages.latest("seq").body == "Grüße"


@pytest.mark.parametrize(
    "path, field, text, says",
    [
        (THREAD, "body", "Hel\x00lo", "Null characters are not allowed."),
        (f"{THREAD}dispute/open/", "reason", "Bro\x00ken", "Null characters are not allowed."),
        (THREAD, "body", "x" * 5001, "A message can have at most 5000 characters"),
        (THREAD, "body", " \n ", "Please write a message before sending."),
    ],
    ids=["nul in a message", "nul in a reason", "message too long", "empty message"],
)
@pytest.mark.parametrize("htmx", [False, True], ids=["page", "htmx"])
def test_text_that_may_not_be_sent_is_a_form_error_and_nothing_is_stored(
    client_for, demo, path, field, text, says, htmx
):
    before = state()
    headers = {"HX-Request": "true"} if htmx else {}

    response = client_for("alice").post(path, {field: text}, headers=headers)

    assert response.status_code == 422
    assert says in response.content.decode()
    assert state() == before


# -- the API -------------------------------------------------------------------------------------


@pytest.fixture
def bearer(demo):
    _row, token = create_token(user=demo["alice"], name="hostile")
    return {"Authorization": f"Bearer {token}"}


BAD_ENCODING = (400, "bad_encoding")
# (raw JSON body for a text field named {f}, status, code).
HOSTILE_JSON = {
    "bytes that are not UTF-8": (lambda f: f'{{"{f}": "caf'.encode() + b'\xe9"}', *BAD_ENCODING),
    "a NUL character": (lambda f: f'{{"{f}": "Hel\\u0000lo"}}'.encode(), *BAD_ENCODING),
    "half a surrogate pair": (lambda f: f'{{"{f}": "Hi \\ud83d"}}'.encode(), *BAD_ENCODING),
    "not JSON": (lambda f: b"{" + f.encode(), 422, "validation_error"),
    "a body over the size limit": (
        lambda f: f'{{"{f}": "'.encode() + b"x" * OVER_LIMIT + b'"}', 413, "too_large"),
    "a JSON string over the length limit": (
        lambda f: json.dumps({f: "x" * 5001}).encode(), 422, {"body": "too_long",
                                                              "reason": "reason_required"}),
}  # fmt: skip


@pytest.mark.parametrize("hostile", HOSTILE_JSON)
@pytest.mark.parametrize(
    "path, field", [(f"{API}/messages", "body"), (f"{API}/dispute", "reason")], ids=["post", "open"]
)
def test_a_hostile_api_body_gets_a_clear_error_and_changes_nothing(bearer, path, field, hostile):
    body, status, code = HOSTILE_JSON[hostile]
    code = code[field] if isinstance(code, dict) else code
    before = state()

    response = Client().generic(
        "POST", path, body(field), content_type="application/json", headers=bearer
    )

    assert response.status_code == status
    error = response.json()["error"]
    assert error["code"] == code and error["message"]
    assert state() == before


def test_an_operation_without_a_body_ignores_whatever_is_sent(bearer):
    before = state()

    response = Client().generic(
        "POST", f"{API}/read", b"\xff\x00" * 1000, content_type="application/json", headers=bearer
    )

    assert response.status_code == 200  # nothing unread
    assert state() == before


def test_a_close_with_a_body_that_is_not_json_is_refused_and_changes_nothing(bearer):
    """Closing takes an optional outcome and note: bytes that are no JSON are an error."""
    before = state()

    response = Client().generic(
        "POST",
        f"{API}/dispute/close",
        b"\xff\x00" * 1000,
        content_type="application/json",
        headers=bearer,
    )

    assert response.status_code == 400
    assert response.json()["error"]["message"]
    assert state() == before


@pytest.mark.parametrize(
    "key", ["a\x00b", "schlüssel", "line\r\nbreak", "\x7f"], ids=["nul", "non-ascii", "crlf", "del"]
)
def test_an_idempotency_key_that_is_not_printable_ascii_is_refused(bearer, key):
    """PostgreSQL cannot store a NUL; it was a server error there."""
    before = state()

    response = Client().post(
        f"{API}/messages",
        {"body": "Once"},
        content_type="application/json",
        headers={**bearer, "Idempotency-Key": key},
    )

    assert response.status_code == 422
    assert response.json()["error"]["code"] == "validation_error"
    assert state() == before


def test_a_printable_idempotency_key_still_works(bearer):
    key = {**bearer, "Idempotency-Key": "order 1002 / reply #1 ~ ok"}
    first = Client().post(f"{API}/messages", {"body": "Once"}, "application/json", headers=key)
    again = Client().post(f"{API}/messages", {"body": "Once"}, "application/json", headers=key)

    assert (first.status_code, again.status_code) == (201, 201)
    assert again["Idempotent-Replayed"] == "true"


@pytest.mark.parametrize(
    "authorization", ["Bearer om_\x00", "Bearer " + "x" * 5000, "Bearer om_é", "Basic \xff"]
)
def test_a_garbage_api_token_is_401(demo, authorization):
    before = state()

    response = Client().post(
        f"{API}/messages",
        {"body": "Hi"},
        content_type="application/json",
        headers={"Authorization": authorization},
    )

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"
    assert state() == before


# -- addresses, query strings and tokens ---------------------------------------------------------

GETS = [
    "/messages/?after=%00",
    "/messages/?after=%FF%FE",
    "/messages/?after=c" + "9" * 40 + ".1",
    "/messages/?show=%00&q=%FF%00",
    f"{THREAD}?from=%00",
    f"{THREAD}?from=99999999999999999999999",
    "/api/v1/conversations?after=%00",
    "/api/v1/conversations?after=c1." + "9" * 40,
    f"{API}/messages?after=99999999999999999999999",
    f"{API}/messages?before=%00",
    "/api/v1/backoffice/conversations?show=%00&q=%FF",
    "/messages/dashboard/?days=%00",
]


@pytest.mark.parametrize("path", GETS)
@pytest.mark.parametrize("who", ["alice", "admin"])
def test_garbage_in_a_query_string_is_a_clear_answer(client_for, who, path):
    before = state()

    response = client_for(who).get(path)

    # 403: the back office and the dashboard are not Alice's; 422: the API's own check.
    assert response.status_code in (200, 403, 422)
    assert state() == before


def signed_guest_token(order) -> str:
    return make_guest_token(order("1006"))


@pytest.mark.parametrize(
    "token",
    ["%00", "%FF%FE", "a" * 5000, "VALID%00", "VALIDx", "VALID:"],
)
def test_a_garbage_guest_link_is_404_and_gives_no_access(demo, order, token):
    token = token.replace("VALID", signed_guest_token(order))
    client = Client()

    response = client.get(f"/messages/guest/{token}/")

    assert response.status_code == 404
    assert "This link is not valid" in response.content.decode()
    assert client.get("/messages/orders/1006/").status_code == 302  # to the login page


@pytest.mark.parametrize("token", ["%00", "%FF%FE", "a" * 5000, "VALID%00", "VALIDx"])
@pytest.mark.parametrize("method", ["get", "post"])
def test_a_garbage_unsubscribe_link_is_400_and_mutes_nothing(demo, post, method, token):
    post("alice", "1002", "bobs-bikes", "Hi")
    valid = make_unsubscribe_token(
        conversation_id=conversation_of("1002", "bobs-bikes").pk, email="alice@customers.example"
    )
    before = state()

    response = getattr(Client(), method)(
        f"/messages/unsubscribe/{token.replace('VALID', valid)}/",
        {"List-Unsubscribe": "One-Click"} if method == "post" else None,
    )

    assert response.status_code == 400
    assert state() == before


# -- inbound mail through a provider's webhook ---------------------------------------------------


def mailgun_inbound(raw: bytes):
    timestamp, token = str(int(time.time())), "a" * 50
    signature = hmac.new(b"demo", f"{timestamp}{token}".encode(), hashlib.sha256).hexdigest()
    return Client().post(
        "/anymail/mailgun/inbound_mime/",
        {"body-mime": raw.decode("latin-1"), "timestamp": timestamp, "token": token,
         "signature": signature, "recipient": ""},
        headers={"authorization": "Basic ZGVtbzpkZW1v"},
    )  # fmt: skip


@pytest.fixture
def reply_to_bob(settings, post, demo):
    """``reply_to_bob(body)``: Alice's raw reply to Bob's message about #1002."""
    settings.ORDER_MESSAGES_REPLY_DOMAIN = "reply.shop.example"
    post("bob", "1002", "bobs-bikes", "Yes, fully assembled.")
    address = make_reply_address(
        conversation_id=conversation_of("1002", "bobs-bikes").pk,
        user_id=demo["alice"].pk,
        email=demo["alice"].email,
        today=timezone.localdate(),
    )

    def make(body: bytes) -> bytes:
        head = f"From: <alice@customers.example>\r\nTo: {address}\r\nSubject: Re: Order\r\n\r\n"
        return head.encode() + body

    return make


def test_a_webhook_mail_over_the_request_limit_is_413_and_nothing_is_kept(reply_to_bob):
    before = state()

    response = mailgun_inbound(reply_to_bob(b"x" * OVER_LIMIT))

    assert response.status_code == 413
    assert state() == before  # the provider sees the refusal and keeps or bounces it


def test_a_webhook_mail_over_the_inbound_limit_is_kept_for_staff_not_posted(reply_to_bob, settings):
    settings.ORDER_MESSAGES_INBOUND_MAX_BYTES = 50_000
    messages = snapshot()["messages"]

    response = mailgun_inbound(reply_to_bob(b"Long line. " * 10_000))

    assert response.status_code == 200
    kept = InboundMail.objects.get()
    assert (kept.status, kept.reason) == ("unrouted", "too large")
    assert snapshot()["messages"] == messages


def test_a_webhook_mail_within_the_limits_is_posted(reply_to_bob):
    assert mailgun_inbound(reply_to_bob(b"Thanks, Bob!\r\n")).status_code == 200

    assert conversation_of("1002", "bobs-bikes").messages.latest("seq").body == "Thanks, Bob!"


# -- the live stream -----------------------------------------------------------------------------


def test_a_garbage_last_event_id_opens_the_stream_from_now(asgi_server, demo):
    _row, token = create_token(user=demo["alice"], name="live")
    auth = {"Authorization": f"Bearer {token}"}
    answers = []
    for last in [b"abc", b"-5", b"9" * 5000, b"1e9", b"\xff\xfe", b"\xd9\xa3", b"0x10", b"7;7"]:
        with httpx.stream(
            "GET", f"{asgi_server}/messages/live/", headers={**auth, "Last-Event-ID": last}
        ) as response:
            first = next(response.iter_lines()) if response.status_code == 200 else ""
            answers.append((response.status_code, first))

    assert answers == [(200, "retry: 3000")] * 8
