"""The authorization matrix against the Oscar adapter: every actor tries every page and
API operation of the app on every conversation of three Oscar orders (#1001 with three
sellers, Carol's #1005, the guest order #1006).

What each request should get follows from a small table of who may read what, written
down from the demo catalogue (demo/catalogue.py) rather than asked of the code under
test: an order's customer reads its conversations, a partner's user only their partner's,
the store's staff all of them; for everyone else the conversation does not exist (404),
and someone not signed in is asked to log in. A refused request changes no row; an
allowed one changes only what it should; no answer carries the secret word planted in a
conversation its actor may not read. The app's URL patterns and API operations are found
by walking the URL resolver and reading the OpenAPI schema: each must be tried here or be
named, with where it is tested, in the lists below.
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.http import HttpResponse
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, include, path
from PIL import Image

from demo.catalogue import ORDERS, PRODUCTS, VENDORS
from order_messages import actions
from order_messages.adapter import get_adapter
from order_messages.api import api
from order_messages.guest import make_guest_token
from order_messages.models import (
    Attachment,
    Conversation,
    Dispute,
    Message,
    Participant,
    Role,
    UnreadCounter,
)
from order_messages.queries import access_order

pytestmark = pytest.mark.django_db

# -- who may do what: the oracle ----------------------------------------------------------------

ANONYMOUS, GUEST = "anonymous", "guest"
SIGNED_OUT = (ANONYMOUS, GUEST)  # the guest holds the signed link to #1006, no account
ACTORS = (ANONYMOUS, "alice", "carol", "bob", "dave", "admin", GUEST)

CUSTOMER_OF = {"1001": "alice", "1005": "carol", "1006": GUEST}
SELLERS_OF = {
    "1001": ("bobs-bikes", "daves-outdoor", "store"),  # two partners and the store's own items
    "1005": ("daves-outdoor", "bobs-bikes"),  # another customer's
    "1006": ("daves-outdoor",),  # a guest's
}
VENDOR_OF = {"bob": "bobs-bikes", "dave": "daves-outdoor"}  # Oscar partners' users
STORE_STAFF = ("admin",)  # is_staff
CONVERSATIONS = {f"{n}-{v}": (n, v) for n, sellers in SELLERS_OF.items() for v in sellers}
DISPUTED = "1005-bobs-bikes"  # Carol opened a dispute there
GUEST_EMAIL = "gus@guests.example"


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
    """Customers and the store's staff open and close disputes; partners do not."""
    return reads(actor, conversation) and role_of(actor, conversation) != Role.VENDOR


def opens_disputes(actor: str, conversation: str) -> bool:
    """Those who handle disputes open one with a seller, never in the store's own
    conversation: the store already answers it (every conversation here has begun)."""
    return handles_disputes(actor, conversation) and CONVERSATIONS[conversation][1] != "store"


def answerer_of(vendor_key: str) -> str:
    return next((u for u, v in VENDOR_OF.items() if v == vendor_key), "admin")


def has_backoffice(actor: str) -> bool:
    return actor in STORE_STAFF or actor in VENDOR_OF


def marker(conversation: str) -> str:
    """A word only in this conversation (its messages and its file's name)."""
    return f"SECRET{conversation.replace('-', '')}WORD"


def test_the_oracle_agrees_with_the_demo_catalogue():
    """The table above, checked against the catalogue both demo stores are seeded from
    (not against the adapter, whose answers it judges)."""
    vendor_of_product = {name: vendor or "store" for name, _price, vendor in PRODUCTS}
    for number, customer, _days, _status, lines in ORDERS:
        if number in SELLERS_OF:
            assert CUSTOMER_OF[number] == (customer or GUEST)
            sellers = {vendor_of_product[name] for name, _qty in lines}
            assert set(SELLERS_OF[number]) == sellers
    assert {user: key for key, _name, user in VENDORS} == VENDOR_OF


# -- what a request may get and change ------------------------------------------------------------

NOTHING, READ, POSTED, OPENED, CLOSED, UPLOADED = (
    "nothing",
    "read",
    "posted",
    "opened",
    "closed",
    "uploaded",
)


@dataclass(frozen=True)
class Outcome:
    status: int
    to: tuple[str, ...] = ()  # a redirect's Location fully matches one of these patterns
    effect: str = NOTHING
    check: Callable[[HttpResponse], None] | None = None


LOGIN = Outcome(302, (r"/accounts/login/\?next=.+",))
MISSING = Outcome(404)
FORBIDDEN = Outcome(403)


def hidden_from(actor: str) -> Outcome:
    """What one may not see does not exist; someone not signed in is asked to log in
    first (they may be its customer, following a link from an e-mail)."""
    return LOGIN if actor in SIGNED_OUT else MISSING


def thread_url(conversation: str) -> str:
    number, vendor_key = CONVERSATIONS[conversation]
    return f"/messages/orders/{number}/{vendor_key}/"


def exactly(url: str) -> tuple[str, ...]:
    return (re.escape(url),)


def shows(conversation: str) -> Callable[[HttpResponse], None]:
    def check(response):
        assert marker(conversation) in body_of(response), "the conversation is not shown"

    return check


def expect_order_page(actor, number):
    tabs = [thread_url(f"{number}-{v}") for v in SELLERS_OF[number] if may_read(actor, number, v)]
    return Outcome(302, tuple(map(re.escape, tabs))) if tabs else hidden_from(actor)


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
            return FORBIDDEN
        if step == "open" and not opens_disputes(actor, conversation):
            return FORBIDDEN
        if method == "get":
            return Outcome(200)
        # Opening where one is open, or closing where none is, changes nothing.
        disputed = conversation == DISPUTED
        effect = {("open", False): OPENED, ("close", True): CLOSED}.get((step, disputed), NOTHING)
        return Outcome(302, exactly(thread_url(conversation)), effect)

    return expect


def expect_read_report(actor, conversation):
    """What a thread page reports as seen is read, for the reader alone."""
    return Outcome(204, effect=READ) if reads(actor, conversation) else MISSING


def expect_upload(actor, conversation):
    return Outcome(201, effect=UPLOADED) if reads(actor, conversation) else MISSING


def expect_file(actor, conversation):
    """A posted file opens for those who read its conversation; for everyone else it
    does not exist."""
    return Outcome(200) if reads(actor, conversation) else MISSING


def expect_discard(actor, conversation):
    return Outcome(200) if reads(actor, conversation) else MISSING  # posted: kept


def signed_in(outcome: Outcome) -> Callable[[str, str], Outcome]:
    return lambda actor, _resource: LOGIN if actor in SIGNED_OUT else outcome


def everyone(outcome: Outcome) -> Callable[[str, str], Outcome]:
    return lambda _actor, _resource: outcome


def backoffice(outcome: Outcome) -> Callable[[str, str], Outcome]:
    def expect(actor, _resource):
        if actor in SIGNED_OUT:
            return LOGIN
        return outcome if has_backoffice(actor) else FORBIDDEN

    return expect


def expect_mark_read(actor, conversation):
    """Ticking a conversation outside one's scope is ignored."""
    if actor in SIGNED_OUT:
        return LOGIN
    if not has_backoffice(actor):
        return FORBIDDEN
    return Outcome(302, exactly("/messages/"), READ if reads(actor, conversation) else NOTHING)


def expect_vendor_figures(actor, vendor_key):
    """A seller's response figures: the store's staff see every seller's, a partner's
    user only their own; another's do not exist for them."""
    if actor in SIGNED_OUT:
        return LOGIN
    if not has_backoffice(actor):
        return FORBIDDEN
    return Outcome(200) if actor in STORE_STAFF or VENDOR_OF[actor] == vendor_key else MISSING


def expect_guest_link(_actor, link):
    return Outcome(302, exactly("/messages/orders/1006/")) if link == "valid" else MISSING


def wrote_in(actor: str, conversation: str) -> bool:
    """Who wrote in the world's conversations: each customer, and each seller's answerer
    (the store's staff answer for the store)."""
    number, vendor_key = CONVERSATIONS[conversation]
    return actor in (CUSTOMER_OF[number], answerer_of(vendor_key))


def lists_parts_of(actor: str) -> Callable[[HttpResponse], None]:
    """The back office's orders: a partner's user sees the orders with their items and
    only their part of each, the store's staff every part of every order."""

    def check(response):
        shown = {
            (order["number"], part["vendor_key"])
            for order in response.json()["items"]
            for part in order["conversations"]
        }
        expected = {
            (number, vendor_key)
            for number, sellers in SELLERS_OF.items()
            for vendor_key in sellers
            if actor in STORE_STAFF or VENDOR_OF[actor] == vendor_key
        }
        assert expected <= shown, f"{actor} misses {sorted(expected - shown)}"
        if actor not in STORE_STAFF:
            assert {v for _n, v in shown} == {VENDOR_OF[actor]}, f"{actor} sees {shown}"

    return check


def lists_orders(actor: str) -> Callable[[HttpResponse], None]:
    """A list of conversations (the Messages page, the back office, the API's lists)
    names no order the actor may not read, and every order they wrote about."""

    def check(response):
        if response["Content-Type"].startswith("application/json"):
            shown = {item["order_number"] for item in response.json()["items"]}
        else:
            shown = set(re.findall(r"Order #(\d+)", body_of(response)))
        readable = {n for n, v in CONVERSATIONS.values() if may_read(actor, n, v)}
        written = {n for name, (n, _v) in CONVERSATIONS.items() if wrote_in(actor, name)}
        assert written <= shown & set(SELLERS_OF) <= readable, shown

    return check


@dataclass(frozen=True)
class Cell:
    """One kind of request to one of the app's URL patterns (by name), tried for every
    actor and resource."""

    name: str
    method: str
    over: str  # a key of RESOURCES
    expect: Callable[[str, str], Outcome]
    data: dict | None = None
    label: str = ""


RESOURCES = {
    "": ("",),
    "conversation": tuple(CONVERSATIONS),
    "order": tuple(SELLERS_OF),
    "attachment": tuple(CONVERSATIONS),  # the file posted in each conversation
    "vendor": ("bobs-bikes", "daves-outdoor", "store"),
    "guest link": ("valid", "forged"),
}


def png() -> SimpleUploadedFile:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), "teal").save(buffer, "PNG")
    return SimpleUploadedFile("photo.png", buffer.getvalue(), content_type="image/png")


PAGES = [
    Cell("order", "get", "order", expect_order_page),
    Cell("thread", "get", "conversation", expect_thread("get")),
    Cell("thread", "post", "conversation", expect_thread("post"), {"body": "Let me in"}),
    Cell("open_dispute", "get", "conversation", expect_dispute_page("get", "open")),
    Cell(
        "open_dispute",
        "post",
        "conversation",
        expect_dispute_page("post", "open"),
        {"reason_code": "other", "requested": "other", "reason": "Forged"},
    ),
    Cell("close_dispute", "get", "conversation", expect_dispute_page("get", "close")),
    Cell(
        "close_dispute",
        "post",
        "conversation",
        expect_dispute_page("post", "close"),
        # Staff must say how it ended; a customer's close is a withdrawal whatever is sent.
        {"outcome": "rejected", "note": "Forged"},
    ),
    Cell("read", "post", "conversation", expect_read_report, {"seq": "99"}),
    Cell("upload_file", "post", "conversation", expect_upload, {"file": png}),
    Cell("file", "get", "attachment", expect_file),
    Cell("thumbnail", "get", "attachment", expect_file),
    Cell("discard_file", "post", "attachment", expect_discard),
    Cell(
        "inbox",
        "get",
        "",
        lambda actor, _r: signed_in(Outcome(200, check=lists_orders(actor)))(actor, _r),
    ),
    Cell("badge", "get", "", everyone(Outcome(200))),
    Cell(
        "mark",
        "post",
        "conversation",
        expect_mark_read,
        {"action": "read", "conversation": "{conversation_id}"},
    ),
    Cell("dashboard", "get", "", backoffice(Outcome(200))),
    Cell("order_list", "get", "", backoffice(Outcome(200))),
    Cell("vendor_dashboard", "get", "vendor", expect_vendor_figures),
    Cell("guest", "get", "guest link", expect_guest_link),
]

# The app's URLs this matrix leaves to other tests, and why: none of them shows or changes
# an order's conversation through the adapter's answer about who may read it.
PAGES_ELSEWHERE = {
    # Under WSGI the stream declines (204) for everyone; over ASGI, what it carries is
    # checked event by event against the policy in tests/test_authorization_matrix.py
    # (test_live_events_reach_only_those_who_may_read_the_conversation).
    "live": "the live stream",
    # A person's own settings, tokens and saved replies: about the signed-in user only,
    # tried for every visitor in tests/test_authorization_matrix.py.
    "preferences": "one's own e-mail preferences",
    "unmute": "one's own muted addresses",
    "tokens": "one's own API tokens",
    "revoke_token": "one's own API tokens",
    "saved_replies": "saved replies (tests/test_saved_replies.py)",
    "edit_saved_reply": "saved replies (tests/test_saved_replies.py)",
    "delete_saved_reply": "saved replies (tests/test_saved_replies.py)",
    # Signed links from e-mails, whose signature is the authorization
    # (tests/test_authorization_matrix.py, tests/test_email.py).
    "unsubscribe": "the unsubscribe link of an e-mail",
    "mailed_file": "a file's link in an e-mail",
}

API_ELSEWHERE = {
    # Saved replies belong to a person or the store, not to an order
    # (tests/test_saved_replies.py, tests/test_authorization_matrix.py).
    "listSavedReplies": "saved replies",
    "createSavedReply": "saved replies",
    "updateSavedReply": "saved replies",
    "deleteSavedReply": "saved replies",
    # A person's own settings and tokens, tried for every caller in
    # tests/test_authorization_matrix.py: they name no order.
    "getEmailPreferences": "one's own e-mail preferences",
    "updateEmailPreferences": "one's own e-mail preferences",
    "listMutedConversations": "one's own muted addresses",
    "unmuteConversation": "one's own muted addresses",
    "listApiTokens": "one's own API tokens",
    "createApiToken": "one's own API tokens",
    "revokeApiToken": "one's own API tokens",
    # The store's webhook endpoints: store staff only, whatever the orders
    # (tests/test_api_webhook_endpoints.py, tests/test_authorization_matrix.py).
    "listWebhookEndpoints": "the store's webhook endpoints",
    "createWebhookEndpoint": "the store's webhook endpoints",
    "getWebhookEndpoint": "the store's webhook endpoints",
    "updateWebhookEndpoint": "the store's webhook endpoints",
    "deleteWebhookEndpoint": "the store's webhook endpoints",
    "rotateWebhookSecret": "the store's webhook endpoints",
    "listWebhookDeliveries": "the store's webhook endpoints",
    "redeliverWebhooks": "the store's webhook endpoints",
    # Marking within the back office's scope, the one listBackofficeConversations is tried
    # with above; a conversation outside it is left alone or 404
    # (tests/test_api_backoffice_mark.py).
    "markBackofficeConversations": "marking in the back office",
    "markBackofficeConversationUnread": "marking in the back office",
    # When the dashboard was last seen: the visitor's own row, no order in it.
    "markDashboardSeen": "one's own dashboard visit",
}


# -- finding every URL pattern and API operation ---------------------------------------------------


def app_url_names(patterns, namespace="") -> dict[str, str]:
    """{name: route} of every URL pattern in the order_messages namespace."""
    found = {}
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            inner = ":".join(filter(None, (namespace, pattern.namespace)))
            for name, route in app_url_names(pattern.url_patterns, inner).items():
                found[name] = str(pattern.pattern) + route
        elif isinstance(pattern, URLPattern) and namespace == "order_messages":
            found[pattern.name] = str(pattern.pattern)
    return found


APP_URLS = app_url_names(get_resolver().url_patterns)
SCHEMA = api.get_openapi_schema()
SCHEMA_OPERATIONS = {
    operation["operationId"]: (method, template)
    for template, methods in SCHEMA["paths"].items()
    for method, operation in methods.items()
}


def uncovered(names, *, tried, elsewhere) -> tuple[set, set]:
    """Names nobody tries, and names tried or excused that no longer exist."""
    names = set(names)
    return names - set(tried) - set(elsewhere), (set(tried) | set(elsewhere)) - names


def test_every_url_of_the_app_is_in_the_matrix_or_tested_elsewhere():
    missing, stale = uncovered(APP_URLS, tried={c.name for c in PAGES}, elsewhere=PAGES_ELSEWHERE)

    assert not missing, f"URLs of the app nobody tries: {sorted(missing)}"
    assert not stale, f"entries for URLs that are gone: {sorted(stale)}"
    assert not {c.name for c in PAGES} & set(PAGES_ELSEWHERE)


def test_every_api_operation_is_in_the_matrix_or_tested_elsewhere():
    missing, stale = uncovered(SCHEMA_OPERATIONS, tried=API, elsewhere=API_ELSEWHERE)

    assert not missing, f"API operations nobody tries: {sorted(missing)}"
    assert not stale, f"entries for operations that are gone: {sorted(stale)}"
    # Above all, every operation about an order's conversation is tried here.
    about_orders = {
        op for op, (_m, template) in SCHEMA_OPERATIONS.items() if "{number}" in template
    }
    assert about_orders and about_orders <= set(API)


def test_a_new_url_of_the_app_would_be_found():
    def export(request, pk):
        return HttpResponse()

    extra = path(
        "messages/", include(([path("export/<int:pk>/", export, name="export")], "order_messages"))
    )
    names = app_url_names([*get_resolver().url_patterns, extra])

    assert names["export"] == "messages/export/<int:pk>/"
    assert uncovered(names, tried={c.name for c in PAGES}, elsewhere=PAGES_ELSEWHERE) == (
        {"export"},
        set(),
    )


# -- the world every request is made in -----------------------------------------------------------


@dataclass(frozen=True)
class Rows:
    conversations: dict[str, int]
    attachments: dict[str, int]
    guest_link: str
    user_ids: dict[str, int]
    sessions: dict[str, str]  # actor: session key (the guest's holds the link to #1006)


def act_in(username: str | None, number: str, vendor_key: str) -> dict:
    """The order, sub-order and actor for ``username`` (None: the guest) as a page has them."""
    user = get_user_model().objects.get(username=username) if username else None
    access = access_order(
        user=user, order_number=number, guests=None if user else {number: GUEST_EMAIL}
    )
    sub_order = access.sub_order(vendor_key)
    return {"order": access.order, "sub_order": sub_order, "actor": access.actor_in(sub_order)}


def build_world() -> Rows:
    """In every conversation of the matrix: the customer's message with a photo, the
    seller's (or the store's) answer, each carrying the conversation's secret word; an
    open dispute in DISPUTED."""
    for name, (number, vendor_key) in CONVERSATIONS.items():
        customer = None if CUSTOMER_OF[number] == GUEST else CUSTOMER_OF[number]
        writer = act_in(customer, number, vendor_key)
        photo = actions.upload_attachment(
            order_number=number,
            vendor_key=vendor_key,
            actor=writer["actor"],
            name=f"{marker(name)}.png",
            content=png().read(),
        )
        actions.post_message(
            **writer, body=f"{marker(name)} from the customer", attachments=[photo.pk]
        )
        actions.post_message(
            **act_in(answerer_of(vendor_key), number, vendor_key), body=f"{marker(name)} answered"
        )
    number, vendor_key = CONVERSATIONS[DISPUTED]
    actions.open_dispute(
        **act_in(CUSTOMER_OF[number], number, vendor_key), reason=f"{marker(DISPUTED)} broken"
    )
    conversations = {
        name: Conversation.objects.get(order_number=number, vendor_key=vendor_key).pk
        for name, (number, vendor_key) in CONVERSATIONS.items()
    }
    guest_link = make_guest_token(get_adapter().get_order("1006"))
    users = {u.username: u for u in get_user_model().objects.all()}
    sessions = {}
    for actor in ACTORS:
        client = Client()
        if actor == GUEST:
            assert client.get(f"/messages/guest/{guest_link}/").status_code == 302
        elif actor != ANONYMOUS:
            client.force_login(users[actor])
        if actor != ANONYMOUS:
            sessions[actor] = client.cookies[settings.SESSION_COOKIE_NAME].value
    return Rows(
        conversations=conversations,
        attachments={
            name: Attachment.objects.get(conversation_id=pk).pk
            for name, pk in conversations.items()
        },
        guest_link=guest_link,
        user_ids={name: user.pk for name, user in users.items()},
        sessions=sessions,
    )


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker):
    """The world, written once for the module inside a transaction that each test's own
    transaction nests in (as a savepoint) and that is rolled back after the module: the
    other modules find the seed as it was."""
    with django_db_blocker.unblock():
        outer = transaction.atomic()
        outer._from_testcase = True  # as Django's TestCase marks its own
        outer.__enter__()
        try:
            rows = build_world()
        except BaseException:
            transaction.set_rollback(True)
            outer.__exit__(None, None, None)
            raise
    yield rows
    with django_db_blocker.unblock():
        transaction.set_rollback(True)
        outer.__exit__(None, None, None)


def client_of(actor: str, world: Rows) -> Client:
    """A browser of the actor's: signed in (its session made with the world), or the
    guest's, which followed the link to #1006."""
    client = Client()
    if actor in world.sessions:
        client.cookies[settings.SESSION_COOKIE_NAME] = world.sessions[actor]
    return client


def params(over: str, resource: str, world: Rows) -> dict:
    if over == "conversation":
        number, vendor_key = CONVERSATIONS[resource]
        return {
            "number": number,
            "vendor_key": vendor_key,
            "conversation_id": world.conversations[resource],
        }
    if over == "order":
        return {"number": resource}
    if over == "attachment":
        return {"attachment_id": world.attachments[resource]}
    if over == "vendor":
        return {"vendor_key": resource}
    if over == "guest link":
        return {"token": world.guest_link if resource == "valid" else forge(world.guest_link)}
    return {}


def forge(token: str) -> str:
    """The token with its signature's last character changed."""
    return token[:-1] + ("A" if token[-1] != "A" else "B")


def fill(route: str, values: dict) -> str:
    return "/" + re.sub(r"[<{](?:\w+:)?(\w+)[>}]", lambda m: str(values[m.group(1)]), route)


# -- what changed ---------------------------------------------------------------------------------


def read_state() -> dict:
    """The rows a request about a conversation could change."""
    return {
        "conversations": {
            pk: rest
            for pk, *rest in Conversation.objects.values_list(
                "pk", "last_seq", "open_dispute_id", "last_message_excerpt"
            )
        },
        "messages": {pk: rest for pk, *rest in Message.objects.values_list("pk", "body")},
        "disputes": {pk: rest for pk, *rest in Dispute.objects.values_list("pk", "status")},
        "participants": {
            pk: rest
            for pk, *rest in Participant.objects.values_list(
                "pk", "user_id", "unread_count", "last_read_seq"
            )
        },
        "counters": dict(UnreadCounter.objects.values_list("pk", "count")),
        "attachments": {
            pk: rest
            for pk, *rest in Attachment.objects.values_list("pk", "message_id", "discarded_at")
        },
    }


def find_changes(before: dict, after: dict) -> dict[str, dict[str, set]]:
    found = {}
    for table, old in before.items():
        new = after[table]
        change = {
            "added": new.keys() - old.keys(),
            "removed": old.keys() - new.keys(),
            "changed": {pk for pk in old.keys() & new.keys() if old[pk] != new[pk]},
        }
        if any(change.values()):
            found[table] = change
    return found


MAY_CHANGE = {
    NOTHING: set(),
    READ: {"participants", "counters"},
    POSTED: {"conversations", "messages", "participants", "counters"},
    OPENED: {"conversations", "messages", "participants", "counters", "disputes"},
    CLOSED: {"conversations", "messages", "participants", "counters", "disputes"},
    UPLOADED: {"attachments"},
}


def assert_effect(effect: str, found: dict, *, user: int | None, target: int | None, role):
    """The request changed what ``effect`` says, in the ``target`` conversation, for the
    user with the id ``user`` (None: signed out), and nothing else; removed nothing."""
    assert set(found) <= MAY_CHANGE[effect], f"{effect}, yet changed: {sorted(found)}"
    assert not any(c["removed"] for c in found.values()), found
    mine = Participant.objects.filter(user_id=user) if user else Participant.objects.none()
    if "participants" in found:
        touched = Participant.objects.filter(
            pk__in=found["participants"]["added"] | found["participants"]["changed"]
        )
        assert {p.conversation_id for p in touched} <= {target}
        if effect == READ:
            assert set(touched) <= set(mine), "someone else's read marks changed"
    if effect == READ:
        assert found.get("counters", {}).get("changed", set()) <= {user}
        assert not mine.filter(conversation=target, unread_count__gt=0).exists()
    if effect in (POSTED, OPENED, CLOSED):
        kind = {POSTED: "message", OPENED: "dispute_opened", CLOSED: "dispute_closed"}[effect]
        (message,) = Message.objects.filter(pk__in=found["messages"]["added"])
        assert (message.conversation_id, message.kind) == (target, kind)
        assert (message.author_id, message.author_role) == (user, role)
        assert found["conversations"]["changed"] == {target}
    if effect == OPENED:
        (dispute,) = Dispute.objects.filter(pk__in=found["disputes"]["added"])
        assert (dispute.conversation_id, dispute.status) == (target, Dispute.Status.OPEN)
    if effect == CLOSED:
        (dispute,) = Dispute.objects.filter(pk__in=found["disputes"]["changed"])
        assert (dispute.conversation_id, dispute.status) == (target, Dispute.Status.CLOSED)
    if effect == UPLOADED:
        (upload,) = Attachment.objects.filter(pk__in=found["attachments"]["added"])
        conversation = Conversation.objects.get(pk=target)
        assert (upload.order_number, upload.vendor_key) == (
            conversation.order_number,
            conversation.vendor_key,
        )
        assert upload.message is None and upload.uploaded_by_id == user


def body_of(response) -> str:
    if response.streaming:
        return b"".join(response.streaming_content).decode("utf-8", "replace")
    return response.content.decode("utf-8", "replace")


def assert_outcome(response, outcome: Outcome, *, actor: str, before: dict, **where) -> None:
    location = response.get("Location", "")
    assert response.status_code == outcome.status, (
        f"expected {outcome.status}, got {response.status_code} {location} "
        f"{response.content[:300] if not response.streaming else ''!r}"
    )
    if outcome.to:
        assert any(re.fullmatch(p, location) for p in outcome.to), location
    if outcome.check:
        outcome.check(response)
    text = body_of(response) + location
    for conversation in CONVERSATIONS:
        if not reads(actor, conversation):
            assert marker(conversation) not in text, f"{conversation} leaked to {actor}"
    assert_effect(outcome.effect, find_changes(before, read_state()), **where)


def target_of(over: str, resource: str, world: Rows) -> int | None:
    return world.conversations[resource] if over in ("conversation", "attachment") else None


def user_of(actor: str, world: Rows) -> int | None:
    return None if actor in SIGNED_OUT else world.user_ids[actor]


# -- every page, every visitor -------------------------------------------------------------------

PAGE_CASES = [
    pytest.param(
        cell,
        actor,
        resource,
        id="-".join(filter(None, (cell.name, cell.method, cell.label, resource, actor))),
    )
    for cell in PAGES
    for resource in RESOURCES[cell.over]
    for actor in ACTORS
]


@pytest.mark.parametrize("cell, actor, resource", PAGE_CASES)
def test_every_page_for_every_visitor(world, cell, actor, resource):
    client = client_of(actor, world)
    values = params(cell.over, resource, world)
    url = fill(APP_URLS[cell.name], values)
    data = {
        key: value() if callable(value) else value.format(**values)
        for key, value in (cell.data or {}).items()
    }
    before = read_state()

    response = getattr(client, cell.method)(url, data)

    assert_outcome(
        response,
        cell.expect(actor, resource),
        actor=actor,
        before=before,
        user=user_of(actor, world),
        target=target_of(cell.over, resource, world),
        role=role_of(actor, resource) if cell.over == "conversation" else None,
    )


# -- every API operation, every caller (with the site's session) -----------------------------------


def expect_api_order(actor, number):
    readable = {v for v in SELLERS_OF[number] if may_read(actor, number, v)}

    def lists_those(response):
        assert {c["vendor_key"] for c in response.json()["conversations"]} == readable

    return Outcome(200, check=lists_those) if readable else MISSING


def when_reads(outcome: Outcome) -> Callable[[str, str], Outcome]:
    return lambda actor, conversation: outcome if reads(actor, conversation) else MISSING


def expect_api_dispute(step):
    def expect(actor, conversation):
        if not reads(actor, conversation):
            return MISSING
        if not handles_disputes(actor, conversation):
            return FORBIDDEN
        if step == "open" and not opens_disputes(actor, conversation):
            return FORBIDDEN
        disputed = conversation == DISPUTED
        if step == "open":
            return Outcome(409) if disputed else Outcome(201, effect=OPENED)
        return Outcome(200, effect=CLOSED) if disputed else Outcome(409)

    return expect


@dataclass(frozen=True)
class Operation:
    over: str
    expect: Callable[[str, str], Outcome]
    body: dict | None = None


API = {
    "listConversations": Operation("", lambda actor, _r: Outcome(200, check=lists_orders(actor))),
    "getUnread": Operation("", everyone(Outcome(200))),
    "listBackofficeConversations": Operation(
        "",
        lambda actor, _r: (
            Outcome(200, check=lists_orders(actor)) if has_backoffice(actor) else FORBIDDEN
        ),
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
        "conversation", when_reads(Outcome(201, effect=POSTED)), {"body": "Let me in"}
    ),
    "markRead": Operation("conversation", when_reads(Outcome(200, effect=READ))),
    "openDispute": Operation("conversation", expect_api_dispute("open"), {"reason": "Forged"}),
    # "withdrawn": the one outcome both a customer and the store's staff may record.
    "closeDispute": Operation(
        "conversation", expect_api_dispute("close"), {"outcome": "withdrawn"}
    ),
    "listDisputes": Operation("conversation", when_reads(Outcome(200))),
    "listDisputeOptions": Operation("", everyone(Outcome(200))),
    "uploadAttachment": Operation("conversation", expect_upload, {"file": png}),
    # A file already posted is kept (409) for those who may see it.
    "discardAttachment": Operation("attachment", when_reads(Outcome(409))),
    "getAttachmentContent": Operation("attachment", expect_file),
    "getAttachmentThumbnail": Operation("attachment", expect_file),
    "listBackofficeOrders": Operation(
        "",
        lambda actor, _r: (
            Outcome(200, check=lists_parts_of(actor)) if has_backoffice(actor) else FORBIDDEN
        ),
    ),
    "getDashboard": Operation(
        "", lambda actor, _r: Outcome(200) if has_backoffice(actor) else FORBIDDEN
    ),
    "getVendorFigures": Operation("vendor", expect_vendor_figures),
}
API_CASES = [
    pytest.param(
        operation, actor, resource, id="-".join(filter(None, (operation, resource, actor)))
    )
    for operation, spec in API.items()
    for resource in RESOURCES[spec.over]
    for actor in ACTORS
]


@pytest.mark.parametrize("operation, actor, resource", API_CASES)
def test_every_api_operation_for_every_caller(world, operation, actor, resource):
    spec = API[operation]
    method, template = SCHEMA_OPERATIONS[operation]
    client = client_of(actor, world)
    url = fill(template.lstrip("/"), params(spec.over, resource, world))
    before = read_state()

    if method in ("get", "delete"):
        response = getattr(client, method)(url)
    elif any(callable(value) for value in (spec.body or {}).values()):  # a file: multipart
        response = client.post(url, {key: value() for key, value in spec.body.items()})
    else:
        response = client.post(url, json.dumps(spec.body or {}), content_type="application/json")

    # The API is for people with an account: a guest's link opens the pages only.
    expected = Outcome(401) if actor in SIGNED_OUT else spec.expect(actor, resource)
    assert_outcome(
        response,
        expected,
        actor=actor,
        before=before,
        user=user_of(actor, world),
        target=target_of(spec.over, resource, world),
        role=role_of(actor, resource) if spec.over == "conversation" else None,
    )
    if response.status_code >= 400:
        error = response.json()["error"]
        assert error["code"] and error["message"]
