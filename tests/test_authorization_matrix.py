"""Authorization (SPEC 9): no actor ever sees or changes a conversation outside its scope,
by page, API, live stream or e-mail reply.

The matrix is generated, not hand-listed: every URL pattern is found by walking the URL
resolver and every API operation by reading the OpenAPI schema; each is requested by every
kind of visitor for every kind of conversation. What a request should get follows from a
small table of who may see and do what, written down from the demo store's data rather
than asked of the code under test. A refused request changes nothing; an allowed one
changes only what it should, where it should; no answer carries a word of a conversation
its visitor may not read.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from unittest import mock

import httpx
import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.core import signing
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.db import transaction
from django.http import HttpResponse
from django.test import Client, override_settings
from django.urls import URLResolver, get_resolver, include, path

from demo.mailbox.models import DemoEmail
from demo.store.models import Order, Vendor
from order_messages import actions, live
from order_messages.actions import create_token
from order_messages.adapter import get_adapter
from order_messages.api import api
from order_messages.attachments.links import make_file_token
from order_messages.guest import make_guest_token
from order_messages.live import MemoryBroker
from order_messages.models import (
    ApiToken,
    Attachment,
    Conversation,
    Dispute,
    IdempotentRequest,
    InboundMail,
    Message,
    Mute,
    Notification,
    NotificationSettings,
    Participant,
    Role,
    SavedReply,
    WebhookDelivery,
    WebhookEndpoint,
)
from order_messages.notifications import inbound
from order_messages.notifications.tokens import make_unsubscribe_token
from order_messages.queries import access_order
from tests import files as test_files
from tests import test_inbound
from tests.conftest import (
    FAST_HASHERS,
    assert_counters_exact,
    deliver_notifications,
    guest_grant,
    seed_demo,
    snapshot,
)
from tests.test_inbound import address_for, reply
from tests.test_live import login, read_events

# -- who may do what ------------------------------------------------------------------------------

ANONYMOUS, GUEST = "anonymous", "guest"
# A guest has no account: their session holds the signed link to order #1006.
SIGNED_OUT = (ANONYMOUS, GUEST)
ACTORS = (ANONYMOUS, "alice", "carol", GUEST, "bob", "dave", "admin", "clerk")

# The demo store as seed_demo makes it, written down rather than asked of the store, so that
# the expectations cannot share a mistake with the code they check.
CUSTOMER_OF = {
    "1001": "alice",
    "1002": "alice",
    "1003": "alice",
    "1004": "alice",
    "1005": "carol",
    "1006": GUEST,
    "1007": "alice",
}
SELLERS_OF = {
    "1001": ("bobs-bikes", "daves-outdoor", "store"),  # one order, three conversations
    "1002": ("bobs-bikes",),
    "1003": ("daves-outdoor",),
    "1004": ("store",),
    "1005": ("daves-outdoor", "bobs-bikes"),
    "1006": ("daves-outdoor",),
    "1007": ("daves-outdoor",),
}
VENDOR_OF = {"bob": "bobs-bikes", "dave": "daves-outdoor"}
# Store staff with manage_conversations. "clerk" is staff without it: a customer like any other.
STORE_STAFF = ("admin",)

# The conversations every request is tried on. Each holds messages only its readers may see.
CONVERSATIONS = {
    "1001-bobs-bikes": ("1001", "bobs-bikes"),
    "1001-daves-outdoor": ("1001", "daves-outdoor"),  # another vendor in the same order
    "1001-store": ("1001", "store"),  # the store's own part of the order
    "1002-bobs-bikes": ("1002", "bobs-bikes"),  # with an open dispute
    "1005-bobs-bikes": ("1005", "bobs-bikes"),  # another customer's order
    "1006-daves-outdoor": ("1006", "daves-outdoor"),  # a guest's order
}
DISPUTED = "1002-bobs-bikes"


def may_read(actor: str, number: str, vendor_key: str) -> bool:
    return (
        actor in STORE_STAFF or CUSTOMER_OF[number] == actor or VENDOR_OF.get(actor) == vendor_key
    )


def reads(actor: str, conversation: str) -> bool:
    return may_read(actor, *CONVERSATIONS[conversation])


def role_of(actor: str, conversation: str) -> str:
    number, vendor_key = CONVERSATIONS[conversation]
    if VENDOR_OF.get(actor) == vendor_key:
        return Role.VENDOR
    if CUSTOMER_OF[number] == actor:
        return Role.CUSTOMER
    return Role.STAFF


def handles_disputes(actor: str, conversation: str) -> bool:
    """Customers and the store open and close disputes; vendors do not (S7, S8, B2)."""
    return reads(actor, conversation) and role_of(actor, conversation) != Role.VENDOR


def opens_disputes(actor: str, conversation: str) -> bool:
    """Those who handle disputes open one with a seller, never in the store's own
    conversation: the store already answers it (every conversation here has begun)."""
    return handles_disputes(actor, conversation) and CONVERSATIONS[conversation][1] != "store"


def has_backoffice(actor: str) -> bool:
    return actor in STORE_STAFF or actor in VENDOR_OF


def marker(conversation: str) -> str:
    """A word in every message of the conversation: no other visitor may ever see it."""
    return f"SECRET-{conversation}"


# -- what a request may get and change -------------------------------------------------------------

NOTHING, READ, MARKED_ALL_READ, MARKED_UNREAD = "nothing", "read", "marked all read", "unread"
POSTED, OPENED, CLOSED = "posted", "opened", "closed"
TOKEN_MADE, TOKEN_REVOKED, PREFERENCES_SAVED = "token made", "token revoked", "preferences"
MUTED, UNMUTED = "muted", "unmuted"
UPLOADED, DISCARDED = "uploaded", "discarded"
REPLY_SAVED, REPLY_CHANGED, REPLY_DELETED = "reply saved", "reply changed", "reply deleted"
ENDPOINT_ADDED, ENDPOINT_CHANGED = "endpoint added", "endpoint changed"
ENDPOINT_REMOVED = "endpoint removed"


@dataclass(frozen=True)
class Outcome:
    status: int
    to: tuple[str, ...] = ()  # a redirect's Location fully matches one of these patterns
    effect: str = NOTHING
    check: Callable[[HttpResponse], None] | None = None


LOGIN = Outcome(302, (r"/accounts/login/\?next=.+",))
MISSING = Outcome(404)


def hidden_from(actor: str) -> Outcome:
    """A thing the visitor may not see does not exist for them; someone not logged in is
    asked to log in first (they may be its customer following an e-mail link)."""
    return LOGIN if actor in SIGNED_OUT else MISSING


def signed_in(outcome: Outcome) -> Callable[[str, str], Outcome]:
    return lambda actor, _resource: LOGIN if actor in SIGNED_OUT else outcome


def everyone(outcome: Outcome) -> Callable[[str, str], Outcome]:
    return lambda _actor, _resource: outcome


def backoffice(outcome: Outcome) -> Callable[[str, str], Outcome]:
    def expect(actor, _resource):
        if actor in SIGNED_OUT:
            return LOGIN
        return outcome if has_backoffice(actor) else Outcome(403)

    return expect


def thread_url(conversation: str) -> str:
    number, vendor_key = CONVERSATIONS[conversation]
    return f"/messages/orders/{number}/{vendor_key}/"


def exactly(url: str) -> tuple[str, ...]:
    return (re.escape(url),)


def expect_order_page(actor, number):
    tabs = [
        f"/messages/orders/{number}/{v}/" for v in SELLERS_OF[number] if may_read(actor, number, v)
    ]
    return Outcome(302, tuple(map(re.escape, tabs))) if tabs else hidden_from(actor)


def shows(conversation: str) -> Callable[[HttpResponse], None]:
    def check(response):
        assert marker(conversation) in response.content.decode(), "the conversation is not shown"

    return check


def expect_thread(method):
    def expect(actor, conversation):
        if not reads(actor, conversation):
            return hidden_from(actor)
        if method == "get":
            return Outcome(200, effect=READ, check=shows(conversation))
        return Outcome(302, (re.escape(thread_url(conversation)) + r"#m-\d+",), POSTED)

    return expect


def expect_dispute_page(method, step):
    def expect(actor, conversation):
        if not reads(actor, conversation):
            return hidden_from(actor)
        if not handles_disputes(actor, conversation):
            return Outcome(403)
        if step == "open" and not opens_disputes(actor, conversation):
            return Outcome(403)
        if method == "get":
            return Outcome(200)
        # Opening where one is open, or closing where none is, says so and changes nothing.
        disputed = conversation == DISPUTED
        effect = {("open", False): OPENED, ("close", True): CLOSED}.get((step, disputed), NOTHING)
        return Outcome(302, exactly(thread_url(conversation)), effect)

    return expect


def expect_mark(action):
    def expect(actor, conversation):
        if actor in SIGNED_OUT:
            return LOGIN
        if not has_backoffice(actor):
            return Outcome(403)
        # A conversation outside the scope is ignored, as if it had not been ticked.
        effect = {"read": READ, "unread": MARKED_UNREAD}[action]
        return Outcome(
            302, exactly("/messages/"), effect if reads(actor, conversation) else NOTHING
        )

    return expect


def expect_start(actor, _resource):
    if actor in SIGNED_OUT:
        return LOGIN
    lands = "/orders/" if actor in ("alice", "carol") else "/messages/"
    return Outcome(302, exactly(lands))


def expect_my_orders(actor, _resource):
    def shows_own_orders(response):
        shown = set(re.findall(r'data-order="(\d+)"', response.content.decode()))
        assert shown == {n for n, customer in CUSTOMER_OF.items() if customer == actor}

    return LOGIN if actor in SIGNED_OUT else Outcome(200, check=shows_own_orders)


def expect_order_detail(actor, number):
    if actor in SIGNED_OUT:
        return LOGIN
    return Outcome(200) if CUSTOMER_OF[number] == actor else MISSING


def expect_revoke(actor, _token):
    if actor in SIGNED_OUT:
        return LOGIN
    return (
        Outcome(302, exactly("/messages/tokens/"), TOKEN_REVOKED) if actor == "alice" else MISSING
    )


def expect_unmute(actor, _conversation):
    # Every conversation has muted Alice's address; only Alice can unmute it.
    if actor in SIGNED_OUT:
        return LOGIN
    return Outcome(302, exactly("/messages/preferences/"), UNMUTED if actor == "alice" else NOTHING)


def expect_unsubscribe(method):
    # The signed link is the authorisation (RFC 8058: mail clients POST without cookies).
    def expect(_actor, link):
        if link == "forged":
            return Outcome(400)
        return Outcome(200, effect=MUTED if method == "post" else NOTHING)

    return expect


def expect_guest_link(_actor, link):
    return {
        "valid": Outcome(302, exactly("/messages/orders/1006/")),
        "forged": MISSING,
        "expired": Outcome(410),
    }[link]


PENDING = "alices-upload"  # an upload of Alice's in #1001 with Bob's Bikes, not yet posted


def expect_file(actor, attachment):
    """A posted file opens for those who read its conversation, an upload not yet posted
    for its uploader only; for everyone else it does not exist (no login page either: the
    links in e-mails are mailed_file's)."""
    if attachment == PENDING:
        return Outcome(200) if actor == "alice" else MISSING
    return Outcome(200) if reads(actor, attachment) else MISSING


def expect_discard(actor, attachment):
    if attachment == PENDING:
        return Outcome(200, effect=DISCARDED) if actor == "alice" else MISSING
    return Outcome(200) if reads(actor, attachment) else MISSING  # posted: kept


def expect_upload(actor, conversation):
    return Outcome(201, effect=UPLOADED) if reads(actor, conversation) else MISSING


def expect_read_report(actor, conversation):
    """What a thread page reports as seen is read, for the reader alone; a guest and staff
    reading along have nothing to mark."""
    return Outcome(204, effect=READ) if reads(actor, conversation) else MISSING


def expect_api_discard(actor, attachment):
    if attachment == PENDING:
        return Outcome(204, effect=DISCARDED) if actor == "alice" else MISSING
    return Outcome(409) if reads(actor, attachment) else MISSING  # posted: kept


def expect_mailed_file(actor, link):
    """The link in Bob's e-mail about #1001, and in the store's orders address's: Bob, or
    whoever else may read it now, signed in; the link in the guest's e-mail: its holder,
    while the order names the address."""
    if link == "guests":
        return Outcome(200)
    if link == "forged":
        return MISSING
    if link == "expired":
        return Outcome(410)
    if actor in SIGNED_OUT:
        return LOGIN
    return Outcome(200) if reads(actor, "1001-bobs-bikes") else MISSING


# Bob's own saved reply, and the one the store (admin) shares with everyone who answers.
BOBS_REPLY, SHARED_REPLY = "bobs-reply", "shared-reply"


def may_change_reply(actor: str, reply: str) -> bool:
    return actor == "bob" if reply == BOBS_REPLY else actor in STORE_STAFF


def expect_saved_reply(method):
    """Someone else's own reply does not exist for them; a shared one they may use but
    only store staff change. The back office's people only: customers are refused."""

    def expect(actor, reply):
        if actor in SIGNED_OUT:
            return LOGIN
        if not has_backoffice(actor):
            return Outcome(403)
        if not may_change_reply(actor, reply):
            return Outcome(403) if reply == SHARED_REPLY else MISSING
        return {
            "get": Outcome(200),
            "post": Outcome(302, exactly("/messages/replies/"), REPLY_CHANGED),
            "delete": Outcome(302, exactly("/messages/replies/"), REPLY_DELETED),
            "api put": Outcome(200, effect=REPLY_CHANGED),
            "api delete": Outcome(204, effect=REPLY_DELETED),
        }[method]

    return expect


def lists_replies(actor: str) -> Callable[[HttpResponse], None]:
    """The API's list: one's own replies and the shared ones, never another's own."""

    def check(response):
        titles = {r["title"] for r in response.json()["items"]}
        assert titles == ({"Bob's reply"} if actor == "bob" else set()) | {"Shared reply"}

    return check


def expect_vendor_figures(actor, vendor_key):
    """A seller's response figures: the store's staff see every seller's, a vendor only
    its own; another's do not exist for them."""
    if actor in SIGNED_OUT:
        return LOGIN
    if not has_backoffice(actor):
        return Outcome(403)
    return Outcome(200) if actor in STORE_STAFF or VENDOR_OF[actor] == vendor_key else MISSING


@dataclass(frozen=True)
class Cell:
    """One kind of request to one URL pattern, tried for every actor and resource."""

    route: str  # the pattern as the resolver spells it, include prefixes and all
    method: str
    over: str  # a key of RESOURCES
    expect: Callable[[str, str], Outcome]
    data: dict | None = None  # "{name}" in a value is filled in like the route
    label: str = ""


# What the requests are made about; "" is a page about no resource in particular.
RESOURCES = {
    "": (),
    "conversation": tuple(CONVERSATIONS),
    "order": tuple(CUSTOMER_OF),
    "unsubscribe link": ("valid", "forged"),
    "guest link": ("valid", "forged", "expired"),
    "alices token": ("alices-token",),
    "demo email": ("demo-email",),
    "attachment": (*CONVERSATIONS, PENDING),
    "mailed file": ("bobs", "stores", "guests", "forged", "expired"),
    "vendor": ("bobs-bikes", "daves-outdoor", "store"),
    "saved reply": (BOBS_REPLY, SHARED_REPLY),
    "webhook endpoint": ("store-hooks",),
}

THREAD = "messages/orders/<str:number>/<str:vendor_key>/"
PAGES = [
    # The app (namespace order_messages)
    Cell("messages/", "get", "", signed_in(Outcome(200))),
    Cell(
        "messages/mark/",
        "post",
        "conversation",
        expect_mark("read"),
        {"action": "read", "conversation": "{conversation_id}"},
        "read",
    ),
    Cell(
        "messages/mark/",
        "post",
        "conversation",
        expect_mark("unread"),
        {"action": "unread", "conversation": "{conversation_id}"},
        "unread",
    ),
    Cell(
        "messages/mark/",
        "post",
        "",
        backoffice(Outcome(302, exactly("/messages/"), MARKED_ALL_READ)),
        {"all": "read"},
        "all",
    ),
    Cell("messages/dashboard/", "get", "", backoffice(Outcome(200))),
    Cell("messages/orders/", "get", "", backoffice(Outcome(200))),
    Cell("messages/dashboard/vendors/<str:vendor_key>/", "get", "vendor", expect_vendor_figures),
    Cell("messages/unread/", "get", "", everyone(Outcome(200))),
    # Under WSGI the stream declines (204) for everyone; over ASGI it is tried by
    # test_a_vendors_stream_never_carries_another_vendors_message below.
    Cell("messages/live/", "get", "", everyone(Outcome(204))),
    Cell("messages/preferences/", "get", "", signed_in(Outcome(200))),
    Cell(
        "messages/preferences/",
        "post",
        "",
        signed_in(Outcome(302, exactly("/messages/preferences/"), PREFERENCES_SAVED)),
        {"frequency": "digest", "language": ""},
    ),
    Cell(
        "messages/preferences/unmute/<int:conversation_id>/", "post", "conversation", expect_unmute
    ),
    Cell("messages/unsubscribe/<str:token>/", "get", "unsubscribe link", expect_unsubscribe("get")),
    Cell(
        "messages/unsubscribe/<str:token>/",
        "post",
        "unsubscribe link",
        expect_unsubscribe("post"),
        {"List-Unsubscribe": "One-Click"},
    ),
    Cell("messages/tokens/", "get", "", signed_in(Outcome(200))),
    Cell(
        "messages/tokens/",
        "post",
        "",
        signed_in(Outcome(302, exactly("/messages/tokens/"), TOKEN_MADE)),
        {"name": "App"},
    ),
    Cell("messages/tokens/<int:token_id>/revoke/", "post", "alices token", expect_revoke),
    Cell("messages/replies/", "get", "", backoffice(Outcome(200))),
    Cell(
        "messages/replies/",
        "post",
        "",
        backoffice(Outcome(302, exactly("/messages/replies/"), REPLY_SAVED)),
        {"title": "Mine", "body": "Hello {{customer_name}}"},
    ),
    Cell("messages/replies/<int:reply_id>/", "get", "saved reply", expect_saved_reply("get")),
    Cell(
        "messages/replies/<int:reply_id>/",
        "post",
        "saved reply",
        expect_saved_reply("post"),
        {"title": "Changed", "body": "Forged"},
    ),
    Cell(
        "messages/replies/<int:reply_id>/delete/",
        "post",
        "saved reply",
        expect_saved_reply("delete"),
    ),
    Cell("messages/guest/<str:token>/", "get", "guest link", expect_guest_link),
    Cell("messages/orders/<str:number>/", "get", "order", expect_order_page),
    Cell(THREAD, "get", "conversation", expect_thread("get")),
    Cell(THREAD, "post", "conversation", expect_thread("post"), {"body": "Let me in"}),
    Cell(THREAD + "dispute/open/", "get", "conversation", expect_dispute_page("get", "open")),
    Cell(
        THREAD + "dispute/open/",
        "post",
        "conversation",
        expect_dispute_page("post", "open"),
        {"reason": "Forged"},
    ),
    Cell(THREAD + "dispute/close/", "get", "conversation", expect_dispute_page("get", "close")),
    Cell(
        THREAD + "dispute/close/",
        "post",
        "conversation",
        expect_dispute_page("post", "close"),
        # Staff must say how it ended; a customer's close is a withdrawal whatever is sent.
        {"outcome": "rejected", "note": "Forged"},
    ),
    Cell(
        THREAD + "files/",
        "post",
        "conversation",
        expect_upload,
        {"file": lambda: SimpleUploadedFile("photo.png", test_files.png())},
    ),
    Cell(THREAD + "read/", "post", "conversation", expect_read_report, {"seq": "99"}),
    Cell("messages/files/<int:attachment_id>/", "get", "attachment", expect_file),
    Cell("messages/files/<int:attachment_id>/thumbnail/", "get", "attachment", expect_file),
    Cell("messages/files/<int:attachment_id>/discard/", "post", "attachment", expect_discard),
    Cell("messages/files/mail/<str:token>/", "get", "mailed file", expect_mailed_file),
    # The API's own pages; its operations are in API_OPERATIONS.
    Cell("api/v1/", "get", "", everyone(MISSING)),
    Cell("api/v1/openapi.json", "get", "", everyone(Outcome(200))),
    Cell("api/v1/docs", "get", "", everyone(Outcome(200))),
    # The demo store (namespace store)
    Cell("", "get", "", everyone(Outcome(200))),
    Cell("start/", "get", "", expect_start),
    Cell("orders/", "get", "", expect_my_orders),
    Cell("orders/<str:number>/", "get", "order", expect_order_detail),
    # The demo mailbox (DEMO_MAILBOX only; demo.production leaves it out, see
    # tests/test_production_settings.py). It stands in for everyone's mail client, so it is
    # open to every visitor by design: whoever opens it reads and answers every demo e-mail.
    Cell("demo/mailbox/", "get", "", everyone(Outcome(200))),
    Cell("demo/mailbox/<int:pk>.eml", "get", "demo email", everyone(Outcome(200))),
    Cell("demo/mailbox/<int:pk>.html", "get", "demo email", everyone(Outcome(200))),
    Cell(
        "demo/mailbox/<int:pk>/reply/",
        "post",
        "demo email",
        everyone(Outcome(302, exactly("/demo/mailbox/"))),
        {"text": ""},
    ),
    Cell("demo/webhooks/", "get", "", everyone(Outcome(200))),
    # Without a valid signature the receiver refuses the call, whoever makes it.
    Cell("demo/webhooks/receive/", "post", "", everyone(Outcome(400)), {"type": "forged"}),
]

# URL groups this matrix leaves to their library, by namespace or route prefix.
ELSEWHERE = {
    "admin": "Django's admin: staff only (django.contrib.admin); the app's admin classes "
    "are tested in tests/test_admin.py",
    "anymail": "provider webhooks, authenticated by django-anymail's WEBHOOK_SECRET and the "
    "provider's signature; the mail they carry goes through the inbound handler "
    "(tests/test_inbound.py and the inbound matrix below)",
    "accounts/": "django.contrib.auth's login, logout and password views",
    "i18n/": "Django's set_language: changes only the visitor's language",
    "favicon.ico": "a permanent redirect to the store's icon, the same for everyone",
}


# -- finding every URL pattern and API operation ---------------------------------------------------


def walk_patterns(
    patterns, prefix: str = "", namespace: str = ""
) -> Iterable[tuple[str, str, object]]:
    """(namespace, full route, pattern) of every URL pattern, through every include."""
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            inner = ":".join(filter(None, (namespace, pattern.namespace)))
            yield from walk_patterns(pattern.url_patterns, prefix + str(pattern.pattern), inner)
        else:
            yield namespace, prefix + str(pattern.pattern), pattern


def to_template(route: str) -> str:
    """``orders/<str:number>/`` and ``orders/{number}/`` alike, as ``orders/{number}/``."""
    return re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", route.lstrip("/"))


def is_left_elsewhere(namespace: str, route: str) -> bool:
    return (
        namespace.split(":")[0] in ELSEWHERE
        or route in ELSEWHERE
        or any(route.startswith(prefix) for prefix in ELSEWHERE if prefix.endswith("/"))
    )


SCHEMA = api.get_openapi_schema()
SCHEMA_OPERATIONS = {
    operation["operationId"]: (method, template)
    for template, methods in SCHEMA["paths"].items()
    for method, operation in methods.items()
}


def find_uncovered(
    patterns, *, routes: Iterable[str], operations: Iterable[str]
) -> tuple[set, set]:
    """URL patterns without a matrix entry, and entries naming no URL pattern. An API path is
    covered when every operation the schema lists under it has an entry."""
    covered = {to_template(route) for route in routes}
    by_path: dict[str, set] = {}
    for operation, (_method, template) in SCHEMA_OPERATIONS.items():
        by_path.setdefault(to_template(template), set()).add(operation)
    covered |= {template for template, ops in by_path.items() if ops <= set(operations)}
    found = {
        to_template(route): namespace for namespace, route, _pattern in walk_patterns(patterns)
    }
    missing = {t for t, ns in found.items() if not is_left_elsewhere(ns, t) and t not in covered}
    stale = {to_template(r) for r in routes} - found.keys()
    return missing, stale


# -- the world every request is made in -----------------------------------------------------------


def fill_route(route: str, params: dict) -> str:
    return "/" + re.sub(r"[<{](?:\w+:)?(\w+)[>}]", lambda m: str(params[m.group(1)]), route)


def forge_token(token: str) -> str:
    return token[:-1] + ("A" if token[-1] != "A" else "B")


@dataclass
class World:
    """The module's world as one test sees it: users by name, conversations by name, and
    the links and rows the matrix requests are made with."""

    users: dict
    conversations: dict[str, Conversation]
    guest_links: dict[str, str]
    unsubscribe_link: str
    alices_token: int
    demo_email: int
    attachments: dict[str, int]
    mailed_files: dict[str, str]
    saved_replies: dict[str, int]

    def user(self, actor: str):
        return None if actor in SIGNED_OUT else self.users[actor]

    def client(self, actor: str) -> Client:
        client = Client()
        if actor == GUEST:
            assert client.get(f"/messages/guest/{self.guest_links['valid']}/").status_code == 302
        elif actor != ANONYMOUS:
            client.force_login(self.users[actor])
        return client

    def params(self, over: str, resource: str) -> dict:
        if over == "conversation":
            number, vendor_key = CONVERSATIONS[resource]
            pk = self.conversations[resource].pk
            return {"number": number, "vendor_key": vendor_key, "conversation_id": pk}
        if over == "order":
            return {"number": resource}
        if over == "unsubscribe link":
            link = self.unsubscribe_link
            return {"token": link if resource == "valid" else forge_token(link)}
        if over == "guest link":
            return {"token": self.guest_links[resource]}
        if over == "alices token":
            return {"token_id": self.alices_token}
        if over == "demo email":
            return {"pk": self.demo_email}
        if over == "attachment":
            return {"attachment_id": self.attachments[resource]}
        if over == "mailed file":
            return {"token": self.mailed_files[resource]}
        if over == "vendor":
            return {"vendor_key": resource}
        if over == "saved reply":
            return {"reply_id": self.saved_replies[resource]}
        if over == "webhook endpoint":
            return {"endpoint_id": WebhookEndpoint.objects.get(url=STORE_HOOKS).pk}
        return {}

    def target(self, over: str, resource: str) -> Conversation | None:
        if over == "conversation":
            return self.conversations[resource]
        if over == "unsubscribe link":
            return self.conversations["1001-bobs-bikes"]
        if over == "attachment":
            return self.conversations.get(resource)
        if over == "saved reply":
            return SavedReply(pk=self.saved_replies[resource])
        return None


STORE_HOOKS = "https://store.example/hooks"  # the store's webhook endpoint


def act_in(username: str | None, number: str, vendor_key: str):
    """The order, sub-order and actor for ``username`` (None: the guest) as a page has them."""
    user = get_user_model().objects.get(username=username) if username else None
    access = access_order(
        user=user, order_number=number, guests=None if user else guest_grant(number)
    )
    sub_order = access.sub_order(vendor_key)
    return {"order": access.order, "sub_order": sub_order, "actor": access.actor_in(sub_order)}


def build_world() -> dict:
    """Every conversation of CONVERSATIONS with marked messages: the customer wrote, Bob
    answered in two of them, a dispute is open in #1002. Also: staff without the permission
    (clerk), a former Bob's Bikes staff member (still on the vendor until a test removes
    them, so that they took part), a user with the permission who is not staff (helper), a
    webhook endpoint, Alice's address muted everywhere, her API token, a demo e-mail."""
    User = get_user_model()
    User.objects.create_user(username="clerk", email="clerk@marketplace.example", is_staff=True)
    former = User.objects.create_user(username="former", email="former@bobs-bikes.example")
    Vendor.objects.get(slug="bobs-bikes").staff.add(former)
    helper = User.objects.create_user(username="helper", email="helper@marketplace.example")
    helper.user_permissions.add(
        Permission.objects.get(
            codename="manage_conversations", content_type__app_label="order_messages"
        )
    )
    WebhookEndpoint.objects.create(url=STORE_HOOKS, secret="s" * 32)
    attachments = {}
    for name, (number, vendor_key) in CONVERSATIONS.items():
        customer = None if CUSTOMER_OF[number] == GUEST else CUSTOMER_OF[number]
        writer = act_in(customer, number, vendor_key)
        photo = actions.upload_attachment(
            order_number=number,
            vendor_key=vendor_key,
            actor=writer["actor"],
            name=f"{marker(name)}.png",
            content=test_files.png(),
        )
        attachments[name] = photo.pk
        actions.post_message(**writer, body=f"{marker(name)} hi", attachments=[photo.pk])
    attachments[PENDING] = actions.upload_attachment(
        order_number="1001",
        vendor_key="bobs-bikes",
        actor=act_in("alice", "1001", "bobs-bikes")["actor"],
        name="waiting.png",
        content=test_files.png(),
    ).pk
    for name in ("1001-bobs-bikes", "1005-bobs-bikes"):
        body = f"{marker(name)} answered"
        actions.post_message(**act_in("bob", *CONVERSATIONS[name]), body=body)
    actions.open_dispute(
        **act_in("alice", *CONVERSATIONS[DISPUTED]), reason=f"{marker(DISPUTED)} broken"
    )
    conversations = {
        name: Conversation.objects.get(order_number=number, vendor_key=vendor_key).pk
        for name, (number, vendor_key) in CONVERSATIONS.items()
    }
    alice, bob = User.objects.get(username="alice"), User.objects.get(username="bob")
    Mute.objects.bulk_create(
        [Mute(conversation_id=pk, email=alice.email) for pk in conversations.values()]
    )
    guest_order = get_adapter().get_order("1006")
    valid = make_guest_token(guest_order)
    long_ago = signing.b62_encode(int(time.time()) - 10**8)
    with mock.patch.object(signing.TimestampSigner, "timestamp", lambda _self: long_ago):
        expired = make_guest_token(guest_order)
    email = DemoEmail.objects.create(
        subject="Order #1002: new message", to=alice.email, headers="", text="Hi", html="<p>Hi"
    )
    return {
        "conversations": conversations,
        "guest_links": {"valid": valid, "forged": forge_token(valid), "expired": expired},
        "unsubscribe_link": make_unsubscribe_token(
            conversation_id=conversations["1001-bobs-bikes"], email=bob.email
        ),
        "alices_token": create_token(user=alice, name="Phone")[0].pk,
        "demo_email": email.pk,
        "attachments": attachments,
        "mailed_files": mailed_file_links(attachments, bob=bob),
        "saved_replies": {
            BOBS_REPLY: SavedReply.objects.create(owner=bob, title="Bob's reply", body="Hi").pk,
            SHARED_REPLY: SavedReply.objects.create(
                owner=User.objects.get(username="admin"),
                title="Shared reply",
                body="Hello {customer_name}",
                shared=True,
            ).pk,
        },
    }


def mailed_file_links(attachments: dict[str, int], *, bob) -> dict[str, str]:
    bobs = make_file_token(
        attachment_id=attachments["1001-bobs-bikes"], email=bob.email, user_id=bob.pk
    )
    guests = make_file_token(
        attachment_id=attachments["1006-daves-outdoor"],
        email=get_adapter().get_order("1006").customer_email,
        user_id=None,
    )
    long_ago = signing.b62_encode(int(time.time()) - 10**8)
    with mock.patch.object(signing.TimestampSigner, "timestamp", lambda _self: long_ago):
        expired = make_file_token(
            attachment_id=attachments["1001-bobs-bikes"], email=bob.email, user_id=bob.pk
        )
    stores = make_file_token(
        attachment_id=attachments["1001-bobs-bikes"],
        email="orders@marketplace.example",
        user_id=None,
        store=True,
    )
    return {
        "bobs": bobs,
        "stores": stores,
        "guests": guests,
        "forged": forge_token(bobs),
        "expired": expired,
    }


@pytest.fixture(scope="module")
def shared_world(django_db_setup, django_db_blocker):
    """The world, written once for the module; each test runs in a transaction over it, as
    over the seed. Afterwards the database is the seed again."""
    with django_db_blocker.unblock(), override_settings(PASSWORD_HASHERS=FAST_HASHERS):
        if not get_user_model().objects.filter(username="admin").exists():
            seed_demo()  # a transactional test before this module emptied the database
        with transaction.atomic():
            made = build_world()
    yield made
    with django_db_blocker.unblock(), override_settings(PASSWORD_HASHERS=FAST_HASHERS):
        call_command("flush", interactive=False, verbosity=0)
        seed_demo()


@pytest.fixture
def world(shared_world, demo) -> World:
    conversations = Conversation.objects.in_bulk(shared_world["conversations"].values())
    return World(
        users=demo,
        conversations={n: conversations[pk] for n, pk in shared_world["conversations"].items()},
        guest_links=shared_world["guest_links"],
        unsubscribe_link=shared_world["unsubscribe_link"],
        alices_token=shared_world["alices_token"],
        demo_email=shared_world["demo_email"],
        attachments=shared_world["attachments"],
        mailed_files=shared_world["mailed_files"],
        saved_replies=shared_world["saved_replies"],
    )


def read_rows(model, *fields) -> dict:
    return {row[0]: row[1:] for row in model.objects.values_list("pk", *fields)}


def read_state() -> dict:
    """Everything a request could change: the app's tables of conftest.snapshot() and the
    outbox, webhook, token, idempotency, mute, preference and inbound-mail tables."""
    tables = {name: {row[0]: row[1:] for row in table} for name, table in snapshot().items()}
    return {
        **tables,
        "notifications": read_rows(Notification, "conversation_id", "email"),
        "webhooks": read_rows(WebhookDelivery, "event_type"),
        "tokens": read_rows(ApiToken, "user_id", "revoked_at"),
        "idempotency": read_rows(IdempotentRequest, "user_id"),
        "mutes": read_rows(Mute, "conversation_id", "email"),
        "preferences": read_rows(NotificationSettings, "user_id", "frequency", "language"),
        "inbound": read_rows(InboundMail, "status"),
        "attachments": read_rows(Attachment, "message_id", "discarded_at"),
        "saved_replies": read_rows(SavedReply, "owner_id", "shared", "title", "body"),
        "endpoints": read_rows(WebhookEndpoint, "url", "events", "active", "secret"),
    }


@dataclass(frozen=True)
class Change:
    added: set
    removed: set
    changed: set


def find_changes(before: dict, after: dict) -> dict[str, Change]:
    found = {}
    for table, old in before.items():
        new = after[table]
        change = Change(
            added=new.keys() - old.keys(),
            removed=old.keys() - new.keys(),
            changed={pk for pk in old.keys() & new.keys() if old[pk] != new[pk]},
        )
        if change.added or change.removed or change.changed:
            found[table] = change
    return found


MAY_CHANGE = {
    NOTHING: set(),
    READ: {"participants", "counters"},
    MARKED_ALL_READ: {"participants", "counters"},
    MARKED_UNREAD: {"participants", "counters"},
    POSTED: {
        "conversations",
        "messages",
        "participants",
        "counters",
        "notifications",
        "webhooks",
        "idempotency",
    },
    UPLOADED: {"attachments"},
    DISCARDED: {"attachments"},
    TOKEN_MADE: {"tokens"},
    TOKEN_REVOKED: {"tokens"},
    PREFERENCES_SAVED: {"preferences"},
    MUTED: {"mutes"},
    UNMUTED: {"mutes"},
    REPLY_SAVED: {"saved_replies"},
    REPLY_CHANGED: {"saved_replies"},
    REPLY_DELETED: {"saved_replies"},
    ENDPOINT_ADDED: {"endpoints"},
    ENDPOINT_CHANGED: {"endpoints"},
    # With its delivery log.
    ENDPOINT_REMOVED: {"endpoints", "webhooks"},
}
MAY_CHANGE[OPENED] = MAY_CHANGE[CLOSED] = MAY_CHANGE[POSTED] | {"disputes"}


def assert_effect(effect: str, found: dict[str, Change], *, user, target, role) -> None:
    """The request changed what ``effect`` says, in ``target``, for ``user``, and nothing
    else."""
    assert set(found) <= MAY_CHANGE[effect], f"{effect}, yet changed: {sorted(found)}"
    kept = ("mutes", "attachments", "saved_replies")
    if effect == ENDPOINT_REMOVED:
        kept = ("endpoints", "webhooks")
    assert not any(c.removed for t, c in found.items() if t not in kept), found
    mine = Participant.objects.filter(user=user) if user else Participant.objects.none()
    if "participants" in found:
        touched = Participant.objects.filter(
            pk__in=found["participants"].added | found["participants"].changed
        )
        if effect in (READ, MARKED_ALL_READ, MARKED_UNREAD):
            assert set(touched) <= set(mine), "someone else's read marks changed"
        if effect != MARKED_ALL_READ:
            assert {p.conversation_id for p in touched} <= {target.pk}
    if "counters" in found and effect in (READ, MARKED_ALL_READ, MARKED_UNREAD):
        assert found["counters"].added | found["counters"].changed <= {user.pk}
    if effect == READ and target is not None:
        assert not mine.filter(conversation=target, unread_count__gt=0).exists()
    if effect == MARKED_ALL_READ:
        assert not mine.filter(unread_count__gt=0).exists()
    if effect == MARKED_UNREAD:
        assert mine.get(conversation=target).unread_count >= 1
    if effect in (POSTED, OPENED, CLOSED):
        kind = {POSTED: "message", OPENED: "dispute_opened", CLOSED: "dispute_closed"}[effect]
        (message,) = Message.objects.filter(pk__in=found["messages"].added)
        assert (message.conversation_id, message.kind) == (target.pk, kind)
        assert (message.author, message.author_role) == (user, role)
        assert found["conversations"].changed == {target.pk}
        if "notifications" in found:
            outbox = Notification.objects.filter(pk__in=found["notifications"].added)
            assert {n.conversation_id for n in outbox} == {target.pk}
    if effect == OPENED:
        (dispute,) = Dispute.objects.filter(pk__in=found["disputes"].added)
        assert (dispute.conversation_id, dispute.status) == (target.pk, Dispute.Status.OPEN)
    if effect == CLOSED:
        (dispute,) = Dispute.objects.filter(pk__in=found["disputes"].changed)
        assert (dispute.conversation_id, dispute.status) == (target.pk, Dispute.Status.CLOSED)
    if effect == TOKEN_MADE:
        (token,) = ApiToken.objects.filter(pk__in=found["tokens"].added)
        assert token.user == user and not found["tokens"].changed
    if effect == TOKEN_REVOKED:
        (token,) = ApiToken.objects.filter(pk__in=found["tokens"].changed)
        assert token.user == user and token.revoked_at and not found["tokens"].added
    if effect == UPLOADED:
        (upload,) = Attachment.objects.filter(pk__in=found["attachments"].added)
        assert (upload.order_number, upload.vendor_key) == (target.order_number, target.vendor_key)
        assert upload.message is None and upload.uploaded_by == user
    if effect == DISCARDED:
        (discarded,) = Attachment.objects.filter(pk__in=found["attachments"].changed)
        assert discarded.discarded_at and discarded.uploaded_by == user
        assert not found["attachments"].added
    if effect == PREFERENCES_SAVED:
        saved = NotificationSettings.objects.filter(
            pk__in=found["preferences"].added | found["preferences"].changed
        )
        assert [s.user for s in saved] == [user]
    if effect == MUTED:
        (mute,) = Mute.objects.filter(pk__in=found["mutes"].added)
        assert (mute.conversation_id, mute.email) == (target.pk, "bob@bobs-bikes.example")
    if effect == UNMUTED:
        assert found["mutes"].removed and not found["mutes"].added
        assert not Mute.objects.filter(conversation=target, email=user.email).exists()
    if effect == REPLY_SAVED:
        (reply,) = SavedReply.objects.filter(pk__in=found["saved_replies"].added)
        assert reply.owner == user and not reply.shared
        assert not found["saved_replies"].changed | found["saved_replies"].removed
    if effect == REPLY_CHANGED:
        (reply,) = SavedReply.objects.filter(pk__in=found["saved_replies"].changed)
        assert reply.pk == target.pk and (reply.title, reply.body) == ("Changed", "Forged")
        assert not found["saved_replies"].added | found["saved_replies"].removed
    if effect == REPLY_DELETED:
        assert found["saved_replies"].removed == {target.pk}
        assert not found["saved_replies"].added | found["saved_replies"].changed
    if effect in (ENDPOINT_ADDED, ENDPOINT_CHANGED, ENDPOINT_REMOVED):
        change = found["endpoints"]
        sizes = {
            ENDPOINT_ADDED: (1, 0, 0),
            ENDPOINT_CHANGED: (0, 0, 1),
            ENDPOINT_REMOVED: (0, 1, 0),
        }[effect]
        assert (len(change.added), len(change.removed), len(change.changed)) == sizes
    if found:
        assert_counters_exact()


def assert_outcome(response, outcome: Outcome, *, actor: str, before: dict, **where) -> None:
    location = response.get("Location", "")
    assert response.status_code == outcome.status, (
        f"expected {outcome.status}, got {response.status_code} {location} "
        f"{response.content[:300]!r}"
    )
    if outcome.to:
        assert any(re.fullmatch(p, location) for p in outcome.to), location
    body = b"".join(response.streaming_content) if response.streaming else response.content
    text = body.decode("utf-8", "replace")
    for conversation in CONVERSATIONS:
        if not reads(actor, conversation):
            assert marker(conversation) not in text, f"{conversation} leaked to {actor}"
    if outcome.check:
        outcome.check(response)
    assert_effect(outcome.effect, find_changes(before, read_state()), **where)


# -- every page, every visitor ---------------------------------------------------------------------

URL_NAMES = {
    to_template(route): p.name for _ns, route, p in walk_patterns(get_resolver().url_patterns)
}


def cell_id(cell: Cell) -> str:
    name = URL_NAMES.get(to_template(cell.route)) or cell.route or "home"
    return "-".join(filter(None, (name, cell.method, cell.label)))


PAGE_CASES = [
    pytest.param(cell, actor, resource, id="-".join(filter(None, (cell_id(cell), resource, actor))))
    for cell in PAGES
    for resource in RESOURCES[cell.over] or ("",)
    for actor in ACTORS
]


@pytest.mark.parametrize("cell, actor, resource", PAGE_CASES)
def test_every_page_for_every_visitor(world, cell, actor, resource):
    client = world.client(actor)
    params = world.params(cell.over, resource)
    url = fill_route(cell.route, params)
    data = {
        key: value() if callable(value) else value.format(**params)
        for key, value in (cell.data or {}).items()
    }
    before = read_state()

    response = getattr(client, cell.method)(url, data)

    assert_outcome(
        response,
        cell.expect(actor, resource),
        actor=actor,
        before=before,
        user=world.user(actor),
        target=world.target(cell.over, resource),
        role=role_of(actor, resource) if cell.over == "conversation" else None,
    )


# -- every API operation, every caller, with a token and with a session ----------------------------


def expect_api_reading(outcome: Outcome) -> Callable[[str, str], Outcome]:
    return lambda actor, conversation: outcome if reads(actor, conversation) else MISSING


def expect_api_order(actor, number):
    readable = {v for v in SELLERS_OF[number] if may_read(actor, number, v)}

    def lists_only_those(response):
        assert {c["vendor_key"] for c in response.json()["conversations"]} == readable

    return Outcome(200, check=lists_only_those) if readable else MISSING


def expect_api_dispute(step):
    def expect(actor, conversation):
        if not reads(actor, conversation):
            return MISSING
        if not handles_disputes(actor, conversation):
            return Outcome(403)
        if step == "open" and not opens_disputes(actor, conversation):
            return Outcome(403)
        disputed = conversation == DISPUTED
        if step == "open":
            return Outcome(409) if disputed else Outcome(201, effect=OPENED)
        return Outcome(200, effect=CLOSED) if disputed else Outcome(409)

    return expect


def staff_only(outcome: Outcome) -> Callable[[str, str], Outcome]:
    """The store's webhooks: its staff with the permission; everyone else is refused."""
    return lambda actor, _resource: outcome if actor in STORE_STAFF else Outcome(403)


def backoffice_api(outcome: Outcome) -> Callable[[str, str], Outcome]:
    return lambda actor, _resource: outcome if has_backoffice(actor) else Outcome(403)


def expect_api_mark_unread(actor, conversation):
    """One conversation of the back office's scope: a vendor's own, any for store staff."""
    if not has_backoffice(actor):
        return Outcome(403)
    return Outcome(200, effect=MARKED_UNREAD) if reads(actor, conversation) else MISSING


def expect_api_unmute(actor, _conversation):
    # Every conversation has muted Alice's address; for anyone else there is no such mute.
    return Outcome(204, effect=UNMUTED) if actor == "alice" else MISSING


def expect_api_revoke(actor, _token):
    return Outcome(204, effect=TOKEN_REVOKED) if actor == "alice" else MISSING


def lists_backoffice_orders(actor: str) -> Callable[[HttpResponse], None]:
    """A vendor's orders are those with his items, each with his part only."""

    def check(response):
        items = response.json()["items"]
        if actor in STORE_STAFF:
            assert {o["number"] for o in items} == set(CUSTOMER_OF)
            return
        vendor_key = VENDOR_OF[actor]
        assert {o["number"] for o in items} == {
            number for number, sellers in SELLERS_OF.items() if vendor_key in sellers
        }
        assert {c["vendor_key"] for o in items for c in o["conversations"]} == {vendor_key}

    return check


def lists_own_mutes(actor: str) -> Callable[[HttpResponse], None]:
    """Alice's address is muted in every conversation: she is shown those she may read,
    the others are not named to her; nobody else is shown any."""

    def check(response):
        shown = {(m["order_number"], m["vendor_key"]) for m in response.json()["items"]}
        readable = {c for name, c in CONVERSATIONS.items() if reads("alice", name)}
        assert shown == (readable if actor == "alice" else set())

    return check


def lists_own_tokens(actor: str) -> Callable[[HttpResponse], None]:
    """Alice's "Phone" token is hers alone to see; never a token itself."""

    def check(response):
        items = response.json()["items"]
        assert ("Phone" in {t["name"] for t in items}) == (actor == "alice")
        assert all("token" not in t and "digest" not in t for t in items)

    return check


@dataclass(frozen=True)
class Operation:
    over: str
    expect: Callable[[str, str], Outcome]
    body: dict | None = None


API_OPERATIONS = {
    "listConversations": Operation("", everyone(Outcome(200))),
    "getUnread": Operation("", everyone(Outcome(200))),
    "listBackofficeConversations": Operation(
        "", lambda actor, _r: Outcome(200 if has_backoffice(actor) else 403)
    ),
    "listOrderConversations": Operation("order", expect_api_order),
    # Reading through the API does not mark read: that is /read.
    "listMessages": Operation(
        "conversation",
        lambda actor, conversation: (
            Outcome(200, check=shows(conversation)) if reads(actor, conversation) else MISSING
        ),
    ),
    "postMessage": Operation(
        "conversation", expect_api_reading(Outcome(201, effect=POSTED)), {"body": "Let me in"}
    ),
    "markRead": Operation("conversation", expect_api_reading(Outcome(200, effect=READ))),
    "openDispute": Operation("conversation", expect_api_dispute("open"), {"reason": "Forged"}),
    # "withdrawn": the one outcome both a customer and the store's staff may record.
    "closeDispute": Operation(
        "conversation", expect_api_dispute("close"), {"outcome": "withdrawn"}
    ),
    "listDisputes": Operation(
        "conversation",
        lambda actor, conversation: Outcome(200) if reads(actor, conversation) else MISSING,
    ),
    "listDisputeOptions": Operation("", everyone(Outcome(200))),
    "uploadAttachment": Operation(
        "conversation",
        expect_upload,
        {"file": lambda: SimpleUploadedFile("photo.png", test_files.png())},
    ),
    "discardAttachment": Operation("attachment", expect_api_discard),
    "getAttachmentContent": Operation("attachment", expect_file),
    "getAttachmentThumbnail": Operation("attachment", expect_file),
    "listSavedReplies": Operation(
        "",
        lambda actor, _r: (
            Outcome(200, check=lists_replies(actor)) if has_backoffice(actor) else Outcome(403)
        ),
    ),
    "createSavedReply": Operation(
        "",
        lambda actor, _r: (
            Outcome(201, effect=REPLY_SAVED) if has_backoffice(actor) else Outcome(403)
        ),
        {"title": "Mine", "body": "Hello"},
    ),
    "updateSavedReply": Operation(
        "saved reply", expect_saved_reply("api put"), {"title": "Changed", "body": "Forged"}
    ),
    "deleteSavedReply": Operation("saved reply", expect_saved_reply("api delete")),
    # Mark all read: what the back office's "Mark all as read" does.
    "markBackofficeConversations": Operation(
        "", backoffice_api(Outcome(200, effect=MARKED_ALL_READ)), {"action": "read"}
    ),
    "markBackofficeConversationUnread": Operation("conversation", expect_api_mark_unread),
    "listBackofficeOrders": Operation(
        "",
        lambda actor, _r: (
            Outcome(200, check=lists_backoffice_orders(actor))
            if has_backoffice(actor)
            else Outcome(403)
        ),
    ),
    "getDashboard": Operation("", backoffice_api(Outcome(200))),
    "markDashboardSeen": Operation("", backoffice_api(Outcome(200)), {}),
    "getVendorFigures": Operation("vendor", expect_vendor_figures),
    "getEmailPreferences": Operation("", everyone(Outcome(200))),
    "updateEmailPreferences": Operation(
        "", everyone(Outcome(200, effect=PREFERENCES_SAVED)), {"frequency": "digest"}
    ),
    "listMutedConversations": Operation(
        "", lambda actor, _r: Outcome(200, check=lists_own_mutes(actor))
    ),
    "unmuteConversation": Operation("conversation", expect_api_unmute),
    "listApiTokens": Operation("", lambda actor, _r: Outcome(200, check=lists_own_tokens(actor))),
    "createApiToken": Operation("", everyone(Outcome(201, effect=TOKEN_MADE)), {"name": "App"}),
    "revokeApiToken": Operation("alices token", expect_api_revoke),
    "listWebhookEndpoints": Operation("", staff_only(Outcome(200))),
    # An address, not a name: nothing is resolved.
    "createWebhookEndpoint": Operation(
        "", staff_only(Outcome(201, effect=ENDPOINT_ADDED)), {"url": "https://93.184.215.14/in"}
    ),
    "getWebhookEndpoint": Operation("webhook endpoint", staff_only(Outcome(200))),
    "updateWebhookEndpoint": Operation(
        "webhook endpoint", staff_only(Outcome(200, effect=ENDPOINT_CHANGED)), {"active": False}
    ),
    "rotateWebhookSecret": Operation(
        "webhook endpoint", staff_only(Outcome(200, effect=ENDPOINT_CHANGED))
    ),
    "deleteWebhookEndpoint": Operation(
        "webhook endpoint", staff_only(Outcome(204, effect=ENDPOINT_REMOVED))
    ),
    "listWebhookDeliveries": Operation("webhook endpoint", staff_only(Outcome(200))),
    # No failed delivery among them: nothing is sent again.
    "redeliverWebhooks": Operation(
        "webhook endpoint", staff_only(Outcome(200)), {"ids": [1, 2, 3]}
    ),
}

API_CASES = [
    pytest.param(
        operation,
        actor,
        resource,
        auth,
        id="-".join(filter(None, (operation, resource, actor, auth))),
    )
    for operation, spec in API_OPERATIONS.items()
    if operation in SCHEMA_OPERATIONS
    for resource in RESOURCES[spec.over] or ("",)
    for actor in ACTORS
    # Signed-out visitors have only their session: the guest's holds the link to #1006.
    for auth in (("session",) if actor in SIGNED_OUT else ("token", "session"))
]


@pytest.mark.parametrize("operation, actor, resource, auth", API_CASES)
def test_every_api_operation_for_every_caller(world, operation, actor, resource, auth):
    spec = API_OPERATIONS[operation]
    method, template = SCHEMA_OPERATIONS[operation]
    client, headers = world.client(actor), {}
    if auth == "token":
        client = Client()
        headers["Authorization"] = f"Bearer {create_token(user=world.users[actor], name='M')[1]}"
    url = fill_route(template.lstrip("/"), world.params(spec.over, resource))
    before = read_state()

    if method in ("get", "delete"):
        response = getattr(client, method)(url, headers=headers)
    elif any(callable(value) for value in (spec.body or {}).values()):  # a file: multipart
        data = {key: value() for key, value in spec.body.items()}
        response = client.post(url, data, headers=headers)
    else:
        body = json.dumps(spec.body or {})
        response = getattr(client, method)(
            url, body, content_type="application/json", headers=headers
        )

    # The API is for people with an account: a guest's link opens its pages only.
    expected = Outcome(401) if actor in SIGNED_OUT else spec.expect(actor, resource)
    assert_outcome(
        response,
        expected,
        actor=actor,
        before=before,
        user=world.user(actor),
        target=world.target(spec.over, resource),
        role=role_of(actor, resource) if spec.over == "conversation" else None,
    )
    if response.status_code >= 400:
        error = response.json()["error"]
        assert error["code"] and error["message"]


# -- the matrix covers everything there is ---------------------------------------------------------


def test_every_url_pattern_has_a_matrix_entry():
    missing, stale = find_uncovered(
        get_resolver().url_patterns,
        routes=[cell.route for cell in PAGES],
        operations=API_OPERATIONS,
    )

    assert not missing, f"URL patterns nobody tries: {sorted(missing)}"
    assert not stale, f"matrix entries for URL patterns that are gone: {sorted(stale)}"


def test_a_new_url_pattern_without_an_entry_is_found():
    def export(request, pk):
        return HttpResponse()

    extra = path("messages/", include(([path("export/<int:pk>/", export)], "order_messages")))
    patterns = [*get_resolver().url_patterns, extra]
    routes = [cell.route for cell in PAGES]

    assert find_uncovered(patterns, routes=routes, operations=API_OPERATIONS) == (
        {"messages/export/{pk}/"},
        set(),
    )
    # An API operation without an entry leaves its path uncovered.
    without_close = set(API_OPERATIONS) - {"closeDispute"}
    missing, _stale = find_uncovered(patterns, routes=routes, operations=without_close)
    assert "api/v1/orders/{number}/conversations/{vendor_key}/dispute/close" in missing
    # An entry for a pattern that no longer exists is found too.
    assert find_uncovered(
        patterns, routes=[*routes, "messages/gone/"], operations=API_OPERATIONS
    ) == (
        {"messages/export/{pk}/"},
        {"messages/gone/"},
    )


def test_every_api_operation_has_a_matrix_entry():
    assert set(SCHEMA_OPERATIONS) == set(API_OPERATIONS)


def test_each_url_group_left_to_its_library_exists():
    groups = {
        route if route in ELSEWHERE else (namespace.split(":")[0] or route.split("/")[0] + "/")
        for namespace, route, _p in walk_patterns(get_resolver().url_patterns)
        if is_left_elsewhere(namespace, route)
    }

    assert groups == set(ELSEWHERE)


# -- the live stream -------------------------------------------------------------------------------

LISTENERS = ("alice", "carol", "bob", "dave", "admin", "clerk", "former", "helper")


@pytest.fixture
def broker(monkeypatch):
    fresh = MemoryBroker(window=500)
    monkeypatch.setattr(live, "get_broker", lambda: fresh)
    return fresh


def answerer_of(conversation: str) -> str:
    _number, vendor_key = CONVERSATIONS[conversation]
    return next((u for u, v in VENDOR_OF.items() if v == vendor_key), "admin")


STEPS = ("customer posts", "answerer posts", "dispute opens", "dispute closes", "marked")
LIVE_CASES = [
    pytest.param(step, name, id=f"{step.replace(' ', '-')}-{name}")
    for step in STEPS
    for name in CONVERSATIONS
]


@pytest.mark.parametrize("step, conversation", LIVE_CASES)
def test_live_events_reach_only_those_who_may_read_the_conversation(
    world, post, dispute, broker, django_capture_on_commit_callbacks, step, conversation
):
    """A post, a dispute opened or closed, a read mark: only those who may read the
    conversation hear of it. Listening besides the actors: a Bob's Bikes staff member who
    left the vendor after taking part, and a user holding manage_conversations who is not
    staff (the demo's store staff are staff accounts)."""
    Vendor.objects.get(slug="bobs-bikes").staff.remove(world.users["former"])
    number, vendor_key = CONVERSATIONS[conversation]
    customer = None if CUSTOMER_OF[number] == GUEST else CUSTOMER_OF[number]
    answerer = answerer_of(conversation)
    target = world.conversations[conversation]
    users = world.users
    # Before the step, and so unheard: a dispute to close, or none open to open one.
    if step == "dispute closes" and conversation != DISPUTED:
        dispute.open(customer, number, vendor_key, "Broken")
    if step == "dispute opens" and conversation == DISPUTED:
        dispute.close(customer, number, vendor_key)

    with django_capture_on_commit_callbacks(execute=True):
        if step == "customer posts":
            post(customer, number, vendor_key, f"{marker(conversation)} live")
        elif step == "answerer posts":
            post(answerer, number, vendor_key, f"{marker(conversation)} live")
        elif step == "dispute opens":
            dispute.open(customer, number, vendor_key, f"{marker(conversation)} live")
        elif step == "dispute closes":
            dispute.close(customer, number, vendor_key)
        else:  # the answerer reads, then marks it unread again from the back office
            actions.mark_read(conversation=target, user=users[answerer])
            actions.mark_unread(
                conversation=target, user=users[answerer], role=role_of(answerer, conversation)
            )

    heard = {who: broker.replay(users[who].pk, 0) or [] for who in LISTENERS}
    for who, events in heard.items():
        if not (who in ACTORS and reads(who, conversation)):
            # The former staff member at most hears that their own badge went down, as
            # the step took them out of the conversation.
            told = [e for e in events if e.type != "unread.changed" or who != "former"]
            assert told == [], f"{who} heard of {conversation}: {events}"
        about = {event.data["conversation"] for event in events if "conversation" in event.data}
        assert about <= {target.pk}
    assert any(heard.values()), "nobody heard anything: the step did nothing"


def test_a_vendors_stream_never_carries_another_vendors_message(asgi_server, demo, broker):
    """Over the real ASGI stream: Dave's stream, open while Alice writes to Bob and then to
    Dave about the same order, carries only her message to Dave."""
    dave = login(asgi_server, "dave")
    alice = login(asgi_server, "alice")
    result = {}
    reader = threading.Thread(target=lambda: result.update(events=read_events(dave, want=1)))
    reader.start()
    deadline = time.monotonic() + 10
    while not broker.waiters.get(demo["dave"].pk) and time.monotonic() < deadline:
        time.sleep(0.02)
    for vendor_key in ("bobs-bikes", "daves-outdoor"):
        thread = f"/messages/orders/1001/{vendor_key}/"
        alice.get(thread)
        response = alice.post(
            thread,
            data={"body": f"To {vendor_key}", "csrfmiddlewaretoken": alice.cookies["csrftoken"]},
        )
        assert response.status_code == 302
    reader.join(timeout=10)

    (event,) = result["events"]
    assert event["event"] == "message.posted"
    assert json.loads(event["data"])["vendor_key"] == "daves-outdoor"
    guest = httpx.Client(base_url=asgi_server)
    link = make_guest_token(get_adapter().get_order("1006"))
    assert guest.get(f"/messages/guest/{link}/").status_code == 302
    assert guest.get("/messages/live/").status_code == 401  # a link is not an account


def test_a_vendors_former_staff_hear_nothing_more_of_its_conversations(world, post, mailoutbox):
    """Left Bob's Bikes after taking part: neither the next message, nor an e-mail, nor the
    inbox or the badge tell them of the conversation any more."""
    former, target = world.users["former"], world.conversations["1001-bobs-bikes"]
    Vendor.objects.get(slug="bobs-bikes").staff.remove(former)

    message = post("alice", "1001", "bobs-bikes", f"{marker('1001-bobs-bikes')} after")

    assert not Participant.objects.filter(user=former, conversation=target).exists()
    assert not Notification.objects.filter(
        conversation=target, email=former.email, last_seq__gte=message.seq
    ).exists()
    deliver_notifications()
    # Nor of any other conversation of the vendor's: e-mails queued before they left stay
    # unsent.
    assert not [m for m in mailoutbox if former.email in m.to]
    assert [m for m in mailoutbox if "bob@bobs-bikes.example" in m.to and message.body in m.body]
    client = Client()
    client.force_login(former)
    for page in ("/messages/", "/api/v1/conversations"):
        assert marker("1001-bobs-bikes") not in client.get(page).content.decode()
    assert_counters_exact()
    assert Participant.objects.filter(conversation=target, user=world.users["bob"]).exists()


def test_the_permission_on_a_customer_account_joins_no_dispute(world):
    """The demo's store staff are staff accounts: a customer account holding
    manage_conversations may read nothing, so it takes part in nothing and gets no e-mail."""
    helper = world.users["helper"]

    assert Dispute.objects.filter(status=Dispute.Status.OPEN).exists()
    assert not Participant.objects.filter(user=helper).exists()
    assert not Notification.objects.filter(email=helper.email).exists()


# -- replies by e-mail -----------------------------------------------------------------------------

# Cells tests/test_inbound.py proves already; the matrix below adds the others.
INBOUND_ELSEWHERE = {
    "the customer, with her address": (
        "test_a_reply_is_posted_as_the_senders_message_without_the_quote"
    ),
    "the vendor, with his address": "test_a_vendor_answers_by_e_mail",
    "the guest, with the guest address": "test_a_guest_answers_by_e_mail",
    "the same e-mail twice": "test_the_same_e_mail_delivered_twice_is_posted_once",
    "a forged signature": "test_a_forged_reply_address_is_kept_for_staff_and_not_posted",
    "a tampered address": "test_a_tampered_reply_address_is_refused",
    "an expired address": "test_an_expired_reply_address_is_kept_and_bounced",
    "a stranger, with the customer's address": (
        "test_someone_else_using_a_customers_reply_address_is_not_posted"
    ),
    "another customer, with his own address": (
        "test_another_customer_cannot_answer_with_his_own_address_for_the_conversation"
    ),
}

# What becomes of a reply: posted, or kept for staff for one of these reasons.
POSTED_MAIL, NOT_ALLOWED, NOT_SENDER = "posted", "may no longer write here", "does not match"
INBOUND = {
    # case: (whose address, who sends, to which conversation, what happened first, outcome)
    "store staff, with their address": ("admin", "admin", "1001-store", "", POSTED_MAIL),
    "the order's other vendor": ("dave", "dave", "1001-daves-outdoor", "", POSTED_MAIL),
    "another vendor, with his own address": ("dave", "dave", "1001-bobs-bikes", "", NOT_ALLOWED),
    "another vendor, with Bob's": ("bob", "dave", "1001-bobs-bikes", "", NOT_SENDER),
    "another customer, with Alice's": ("alice", "carol", "1001-bobs-bikes", "", NOT_SENDER),
    "staff without the permission": ("clerk", "clerk", "1001-bobs-bikes", "", NOT_ALLOWED),
    "a customer, with the guest's": (GUEST, "alice", "1006-daves-outdoor", "", NOT_SENDER),
    "the customer, with a guest address": (GUEST, "alice", "1001-bobs-bikes", "", NOT_ALLOWED),
    "the vendor, after leaving the vendor": ("bob", "bob", "1001-bobs-bikes", "left", NOT_ALLOWED),
    "the customer, her account closed": (
        "alice",
        "alice",
        "1001-bobs-bikes",
        "closed",
        NOT_ALLOWED,
    ),
    "the conversation deleted": ("alice", "alice", "1001-bobs-bikes", "deleted", "no longer"),
}


def test_the_inbound_cells_proven_elsewhere_are_still_there():
    for name in INBOUND_ELSEWHERE.values():
        assert callable(getattr(test_inbound, name, None)), name


@pytest.fixture
def reply_domain(settings):
    settings.ORDER_MESSAGES_REPLY_DOMAIN = test_inbound.DOMAIN


@pytest.mark.parametrize(
    "case", [pytest.param(case, id=re.sub(r"\W+", "-", case).strip("-")) for case in INBOUND]
)
def test_a_reply_by_e_mail_is_posted_only_by_someone_who_may_write_there(reply_domain, world, case):
    owner, sender, name, first, expected = INBOUND[case]
    conversation = world.conversations[name]
    address = address_for(conversation, world.user(owner) if owner != GUEST else None)
    email = "gina@guests.example" if sender == GUEST else world.users[sender].email
    if first == "left":
        Vendor.objects.get(slug="bobs-bikes").staff.remove(world.users[owner])
    elif first == "closed":
        get_user_model().objects.filter(pk=world.users[owner].pk).update(is_active=False)
    elif first == "deleted":
        conversation.delete()
    before = read_state()

    outcome = inbound.receive(reply(sender=email, to=address, body=f"By mail: {case}"))

    found = find_changes(before, read_state())
    if expected == POSTED_MAIL:
        assert outcome.status == "posted", outcome.reason
        assert_effect(
            POSTED,
            {t: c for t, c in found.items() if t != "inbound"},
            user=world.users[sender],
            target=conversation,
            role=role_of(sender, name),
        )
    else:
        assert outcome.status == "unrouted" and expected in outcome.reason
        assert set(found) == {"inbound"} and len(found["inbound"].added) == 1
        assert outcome.inbound.status == InboundMail.Status.UNROUTED
        assert not Message.objects.filter(body__startswith="By mail").exists()


def test_one_e_mail_sent_to_two_reply_addresses_is_posted_once(reply_domain, world):
    alice = world.users["alice"]
    bikes, outdoor = (
        world.conversations["1001-bobs-bikes"],
        world.conversations["1001-daves-outdoor"],
    )
    raw = reply(sender=alice.email, to=address_for(bikes, alice), body="Once", message_id="<m@x>")
    again = reply(
        sender=alice.email, to=address_for(outdoor, alice), body="Once", message_id="<m@x>"
    )

    assert inbound.receive(raw).status == "posted"
    assert inbound.receive(again).status == "duplicate"

    assert list(Message.objects.filter(body="Once").values_list("conversation", flat=True)) == [
        bikes.pk
    ]


# -- when the store changes who may read ----------------------------------------------------------

# Who loses access, and who gains it, when the store changes its data without telling the
# app (a queryset update, a staff list edited elsewhere): every channel must ask the store.
STORE_CHANGES = {
    # change: (who loses, who gains or None)
    "order changed hands": ("alice", "carol"),
    "vendor staff left": ("former", None),
}
CHANNELS = ("page", "api", "e-mail", "inbound", "live", "webhook")


def make_store_change(change: str, world: World) -> None:
    if change == "order changed hands":
        carol = world.users["carol"]
        Order.objects.filter(number="1001").update(
            customer=carol, email=carol.email, name=carol.get_full_name()
        )
    else:
        Vendor.objects.get(slug="bobs-bikes").staff.remove(world.users["former"])


@pytest.mark.parametrize("channel", CHANNELS)
@pytest.mark.parametrize("change", STORE_CHANGES)
def test_access_the_store_took_away_ends_on_every_channel(
    change, channel, world, broker, mailoutbox, settings, django_capture_on_commit_callbacks
):
    """#1001 with Bob's Bikes: the store gives the order to Carol, or a Bob's Bikes staff
    member leaves. Then Bob writes: whoever lost access learns nothing of it on any
    channel; whoever gained it does."""
    settings.ORDER_MESSAGES_REPLY_DOMAIN = "reply.shop.example"
    loser, gainer = STORE_CHANGES[change]
    target = world.conversations["1001-bobs-bikes"]
    Mute.objects.all().delete()  # the world mutes Alice's address everywhere
    issued_to_loser = address_for(target, world.users[loser])

    make_store_change(change, world)
    text = f"{marker('1001-bobs-bikes')} after the change"
    with django_capture_on_commit_callbacks(execute=True):
        message = actions.post_message(**act_in("bob", "1001", "bobs-bikes"), body=text)

    def told(username) -> bool:
        user = world.users[username]
        client = Client()
        client.force_login(user)
        if channel == "page":
            pages = ("/messages/", "/messages/orders/1001/bobs-bikes/")
            return any(text in client.get(page).content.decode() for page in pages)
        if channel == "api":
            pages = (
                "/api/v1/conversations",
                "/api/v1/orders/1001/conversations/bobs-bikes/messages",
            )
            return any(text in client.get(page).content.decode() for page in pages)
        if channel == "e-mail":
            deliver_notifications()
            return any(user.email in m.to and text in m.body for m in mailoutbox)
        if channel == "inbound":
            address = issued_to_loser if username == loser else address_for(target, user)
            outcome = inbound.receive(reply(sender=user.email, to=address, body=f"{username} here"))
            return outcome.status == "posted"
        if channel == "live":
            events = broker.replay(user.pk, 0) or []
            return any(e.data.get("seq") == message.seq for e in events)
        # webhook: the store's endpoint hears of the message, naming neither person
        newest = WebhookDelivery.objects.filter(event_type="message.posted").order_by("-pk")[0]
        payload = json.dumps(newest.payload)
        assert text in payload
        name = user.get_full_name()
        return user.email in payload or bool(name and name in payload)

    assert not told(loser), f"{loser} was told on the {channel} after: {change}"
    if gainer is not None and channel != "webhook":
        assert told(gainer), f"{gainer} was not told on the {channel} after: {change}"
    assert_counters_exact()
