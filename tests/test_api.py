"""The JSON API (A1) through Django's test client: each operation's behaviour, who may call
it, idempotent posting, the error shape, pagination and CSRF."""

import json
import threading
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test import Client
from django.utils import timezone

from order_messages.actions import create_token, revoke_token
from order_messages.api import api, idempotency
from order_messages.guest import SESSION_KEY
from order_messages.models import (
    ApiToken,
    Conversation,
    Dispute,
    IdempotentRequest,
    Message,
    Participant,
    WebhookEndpoint,
)
from order_messages.webhooks import signing
from tests.conftest import (
    assert_counters_exact,
    conversation_of,
    counter_of,
    guest_grant,
    make_conversations,
    make_thread,
    unread_of,
)
from tests.conftest import snapshot as tables_snapshot

API = "/api/v1"
ORDER = f"{API}/orders/1002/conversations"
BIKES = f"{ORDER}/bobs-bikes"


class Caller:
    """A test client that speaks JSON to the API, with a Bearer token or a session."""

    def __init__(self, client, headers=None):
        self.client, self.headers = client, headers or {}

    def get(self, path, **params):
        return self.client.get(path, params, headers=self.headers)

    def post(self, path, data=None, headers=None):
        return self.client.post(
            path,
            json.dumps(data if data is not None else {}),
            content_type="application/json",
            headers={**self.headers, **(headers or {})},
        )


def make_clerk():
    """Store staff without ``manage_conversations``: a customer like any other."""
    return get_user_model().objects.create_user(username="clerk", is_staff=True)


@pytest.fixture
def api_as(demo):
    """``api_as("alice")``: alice with a fresh API token; ``api_as("alice", session=True)``:
    her logged-in session; ``api_as("anonymous")``; ``api_as("revoked")``: alice with a
    revoked token; ``api_as("clerk")``."""

    def make(who, session=False, client=None):
        client = client or Client()
        if who == "anonymous":
            return Caller(client)
        user = make_clerk() if who == "clerk" else demo["alice" if who == "revoked" else who]
        if session:
            client.force_login(user)
            return Caller(client)
        row, token = create_token(user=user, name="test")
        if who == "revoked":
            revoke_token(user=user, token_id=row.pk)
        return Caller(client, {"Authorization": f"Bearer {token}"})

    return make


def error_of(response):
    body = response.json()
    assert set(body) == {"error"}
    assert {"code", "message"} <= set(body["error"]) <= {"code", "message", "details"}
    assert body["error"]["message"]
    return body["error"]["code"]


def snapshot():
    """Everything a request could change, the stored idempotent answers included."""
    return {
        **tables_snapshot(),
        "idempotent": list(IdempotentRequest.objects.values_list("pk", flat=True)),
    }


# -- who may do what --------------------------------------------------------------------------

# (method, path, body) on order #1002 (Alice's, from Bob's Bikes only).
OPERATIONS = {
    "conversations": ("get", f"{API}/conversations", None),
    "order": ("get", ORDER, None),
    "messages": ("get", f"{BIKES}/messages", None),
    "post": ("post", f"{BIKES}/messages", {"body": "Let me in"}),
    "read": ("post", f"{BIKES}/read", None),
    "open": ("post", f"{BIKES}/dispute", {"reason": "Forged"}),
    # Without an outcome: the customer withdraws; store staff must say how it ended.
    "close": ("post", f"{BIKES}/dispute/close", None),
    "resolve": ("post", f"{BIKES}/dispute/close", {"outcome": "refunded", "note": "Refunded."}),
    "disputes": ("get", f"{BIKES}/disputes", None),
    "options": ("get", f"{API}/dispute-options", None),
    "unread": ("get", f"{API}/me/unread", None),
    "backoffice": ("get", f"{API}/backoffice/conversations", None),
}

ALL_OK = {
    "conversations": 200,
    "order": 200,
    "messages": 200,
    "post": 201,
    "read": 200,
    "open": 201,
    "close": 200,
    "resolve": 200,
    "disputes": 200,
    "options": 200,
    "unread": 200,
}
IN_THE_ORDER = ("order", "messages", "post", "read", "open", "close", "resolve", "disputes")
HIDDEN = {**ALL_OK, **dict.fromkeys(IN_THE_ORDER, 404)}
EXPECTED = {
    # The customer, who can only withdraw (invalid_choice for another outcome).
    "alice": {**ALL_OK, "resolve": 422, "backoffice": 403},
    "carol": {**HIDDEN, "backoffice": 403},  # another customer
    # The vendor, who reads the disputes but neither opens nor resolves one.
    "bob": {**ALL_OK, "open": 403, "close": 403, "resolve": 403, "backoffice": 200},
    "dave": {**HIDDEN, "backoffice": 200},  # a vendor with nothing in this order
    # Store staff: closing without an outcome is outcome_required.
    "admin": {**ALL_OK, "close": 422, "backoffice": 200},
    "clerk": {**HIDDEN, "backoffice": 403},  # staff without manage_conversations
    "anonymous": dict.fromkeys(OPERATIONS, 401),
    "revoked": dict.fromkeys(OPERATIONS, 401),  # Alice's token, revoked
}
CASES = [
    pytest.param(who, op, session, id=f"{who}-{op}-{'session' if session else 'token'}")
    for who, ops in EXPECTED.items()
    for op in ops
    for session in ((False,) if who in ("anonymous", "revoked") else (False, True))
]


@pytest.fixture
def world(demo, post, dispute):
    """#1002 with a new message from Bob that Alice has not read; with ``open`` a dispute
    is open in it."""

    def make(open_dispute=False):
        post("bob", "1002", "bobs-bikes", "Did the bike arrive?")
        if open_dispute:
            dispute.open("alice", "1002", "bobs-bikes", "Real dispute")

    return make


@pytest.mark.parametrize("who, operation, session", CASES)
def test_every_operation_for_every_caller(world, api_as, who, operation, session):
    world(open_dispute=operation in ("close", "resolve", "disputes"))
    caller = api_as(who, session=session)
    before = snapshot()

    method, path, body = OPERATIONS[operation]
    response = caller.post(path, body) if method == "post" else caller.get(path)

    expected = EXPECTED[who][operation]
    assert response.status_code == expected, response.content
    after = snapshot()
    if expected >= 400:
        error_of(response)
        assert after == before
    elif operation in ("post", "open", "close", "resolve"):
        assert after["messages"] != before["messages"]
    else:
        # Reading may mark messages read, and nothing else.
        for table in ("conversations", "messages", "disputes"):
            assert after[table] == before[table]
    assert_counters_exact()


def test_a_vendor_sees_only_their_own_conversation_of_a_shared_order(demo, api_as, post):
    post("alice", "1001", "bobs-bikes", "Hello Bob")
    post("alice", "1001", "daves-outdoor", "Hello Dave")
    dave = api_as("dave")
    before = snapshot()

    tabs = dave.get(f"{API}/orders/1001/conversations").json()["conversations"]
    assert [t["vendor_key"] for t in tabs] == ["daves-outdoor"]
    assert [i["name"] for i in tabs[0]["items"]] == ["Two-person tent Ridge"]
    bikes = f"{API}/orders/1001/conversations/bobs-bikes"
    assert dave.get(f"{bikes}/messages").status_code == 404
    for suffix, body in (("messages", {"body": "Sneaky"}), ("read", None)):
        assert dave.post(f"{bikes}/{suffix}", body).status_code == 404
    for suffix in ("dispute", "dispute/close"):
        assert dave.post(f"{bikes}/{suffix}", {"reason": "Forged"}).status_code == 404
    assert snapshot() == before


def test_a_guest_link_in_the_session_does_not_open_the_api(demo):
    """Guests use the signed link's pages; the API is for people with an account."""
    client = Client()
    session = client.session
    session[SESSION_KEY] = guest_grant("1006")
    session.save()

    assert client.get("/messages/orders/1006/daves-outdoor/").status_code == 200
    response = client.get(f"{API}/orders/1006/conversations")
    assert response.status_code == 401
    assert error_of(response) == "not_authenticated"


def test_a_deactivated_users_token_stops_working(demo, api_as):
    alice = api_as("alice")
    assert alice.get(f"{API}/me/unread").status_code == 200

    get_user_model().objects.filter(username="alice").update(is_active=False)

    assert alice.get(f"{API}/me/unread").status_code == 401


def test_a_bad_token_is_refused_even_with_a_session(demo, api_as):
    caller = api_as("alice", session=True)
    caller.headers = {"Authorization": "Bearer om_not-a-token"}

    response = caller.get(f"{API}/me/unread")

    assert response.status_code == 401
    assert error_of(response) == "not_authenticated"
    assert response["WWW-Authenticate"] == "Bearer"


def test_token_use_is_noted_at_most_once_a_minute(demo, api_as):
    alice = api_as("alice")
    token = ApiToken.objects.get(user=demo["alice"])
    assert token.last_used_at is None

    alice.get(f"{API}/me/unread")
    token.refresh_from_db()
    first = token.last_used_at
    assert first is not None
    alice.get(f"{API}/me/unread")
    token.refresh_from_db()
    assert token.last_used_at == first

    ApiToken.objects.filter(pk=token.pk).update(last_used_at=first - timedelta(minutes=2))
    alice.get(f"{API}/me/unread")
    token.refresh_from_db()
    assert token.last_used_at > first


# -- each operation ---------------------------------------------------------------------------


def test_my_conversations_unread_first_then_newest(demo, api_as, post):
    post("alice", "1003", "daves-outdoor", "Alice to Dave")
    post("bob", "1001", "bobs-bikes", "Bob to Alice")

    page = api_as("alice").get(f"{API}/conversations").json()

    assert page["next_cursor"] is None
    rows = [(c["order_number"], c["vendor_key"], c["unread"]) for c in page["items"]]
    assert rows == [
        ("1001", "bobs-bikes", 1),
        ("1003", "daves-outdoor", 0),
        ("1002", "bobs-bikes", 0),
        ("1007", "daves-outdoor", 0),  # seeded with photos, two weeks ago
    ]
    first = page["items"][0]
    assert first["title"] == "Order #1001 — Bob's Bikes"
    assert first["my_role"] == "customer"
    assert first["last_message_excerpt"] == "Bob to Alice"
    assert first["last_seq"] == 1
    assert first["open_dispute"] is None
    assert api_as("carol").get(f"{API}/conversations").json()["items"] == []
    bob = [c["order_number"] for c in api_as("bob").get(f"{API}/conversations").json()["items"]]
    assert bob == ["1001", "1002"]


def test_an_orders_conversations_include_those_not_started(demo, api_as, post):
    post("bob", "1001", "bobs-bikes", "Your helmet ships today.")

    body = api_as("alice").get(f"{API}/orders/1001/conversations").json()

    assert body["order"]["number"] == "1001"
    assert body["order"]["customer_email"] == "alice@customers.example"
    assert body["order"]["status"] == "Shipped"
    tabs = {t["vendor_key"]: t for t in body["conversations"]}
    assert list(tabs) == ["bobs-bikes", "daves-outdoor", "store"]
    bikes = tabs["bobs-bikes"]
    assert bikes["started"] and bikes["unread"] == 1 and bikes["last_seq"] == 1
    assert bikes["my_role"] == "customer" and bikes["may_handle_disputes"]
    assert bikes["items"][0]["name"] == "Bike helmet Aero"
    assert not tabs["store"]["started"]
    assert tabs["store"]["conversation_id"] is None and tabs["store"]["is_store"]
    assert not Conversation.objects.filter(order_number="1001", vendor_key="store").exists()


def test_a_vendor_is_not_shown_the_customers_email_while_contacts_are_masked(api_as, settings):
    assert api_as("bob").get(ORDER).json()["order"]["customer_email"] is None
    assert api_as("admin").get(ORDER).json()["order"]["customer_email"] == (
        "alice@customers.example"
    )
    settings.ORDER_MESSAGES_MASK_CONTACTS = False
    assert api_as("bob").get(ORDER).json()["order"]["customer_email"] == ("alice@customers.example")


def test_messages_are_read_without_being_marked_read(demo, api_as, post):
    post("bob", "1002", "bobs-bikes", "Did the bike arrive?")

    body = api_as("alice").get(f"{BIKES}/messages").json()

    assert [m["seq"] for m in body["messages"]] == [1, 2, 3, 4]
    last = body["messages"][-1]
    assert last == {
        "seq": 4,
        "kind": "message",
        "author_name": "Bob Baker",
        "author_role": "vendor",
        "body": "Did the bike arrive?",
        "created_at": last["created_at"],
        "is_mine": False,
        "attachments": [],
    }
    assert body["messages"][0]["is_mine"]
    assert body["first_unread_seq"] == 4
    assert body["older"] is None and body["newer"] is None
    assert body["conversation"]["unread"] == 1
    assert unread_of(demo["alice"], "1002", "bobs-bikes") == 1


def test_a_conversation_without_messages_reads_as_an_empty_page(api_as):
    body = api_as("alice").get(f"{API}/orders/1001/conversations/store/messages").json()

    assert body["messages"] == []
    assert not body["conversation"]["started"]
    assert body["first_unread_seq"] is None and body["older"] is None


def test_messages_page_backwards_and_forwards_covering_each_once(
    no_conversations, demo, post, api_as
):
    make_thread(demo, post, total=23, unread_for_alice=5)
    alice = api_as("alice")

    page = alice.get(f"{BIKES}/messages", limit=5).json()
    assert [m["seq"] for m in page["messages"]] == [19, 20, 21, 22, 23]
    seen = []
    while True:
        seen[:0] = [m["seq"] for m in page["messages"]]
        if page["older"] is None:
            break
        page = alice.get(f"{BIKES}/messages", limit=5, before=page["older"]).json()
    assert seen == list(range(1, 24))

    page = alice.get(f"{BIKES}/messages", limit=4, after=0).json()
    seen = []
    while True:
        seen += [m["seq"] for m in page["messages"]]
        if page["newer"] is None:
            break
        page = alice.get(f"{BIKES}/messages", limit=4, after=page["newer"]).json()
    assert seen == list(range(1, 24))
    assert alice.get(f"{BIKES}/messages", after=23).json()["messages"] == []


@pytest.mark.parametrize(
    "query, expected",
    [
        ({"limit": 5}, [56, 57, 58, 59, 60]),
        ({"limit": 5, "before": 30}, [25, 26, 27, 28, 29]),
        ({"limit": 5, "after": 30}, [31, 32, 33, 34, 35]),
        ({"limit": 5, "before": 3}, [1, 2]),
        ({"limit": 5, "after": 58}, [59, 60]),
    ],
)
def test_a_page_of_messages_reads_only_the_rows_it_returns(
    no_conversations, demo, post, api_as, monkeypatch, query, expected
):
    from order_messages.models import Message

    make_thread(demo, post, total=60, unread_for_alice=0)
    alice = api_as("alice")
    loaded = []
    from_db = Message.from_db.__func__

    def counting(cls, db, field_names, values, **more):  # Django 6.1: fetch_mode
        instance = from_db(cls, db, field_names, values, **more)
        loaded.append(instance.seq)
        return instance

    monkeypatch.setattr(Message, "from_db", classmethod(counting))
    page = alice.get(f"{BIKES}/messages", **query).json()

    assert [m["seq"] for m in page["messages"]] == expected
    # Only the page's rows leave the database, whichever way the page goes.
    assert sorted(loaded) == expected


def test_messages_from_the_first_unread(no_conversations, demo, post, api_as):
    make_thread(demo, post, total=30, unread_for_alice=4)
    alice = api_as("alice")

    page = alice.get(f"{BIKES}/messages", **{"from": "first_unread", "limit": 3}).json()

    assert page["first_unread_seq"] == 27
    assert [m["seq"] for m in page["messages"]] == [27, 28, 29]
    assert page["older"] == 27 and page["newer"] == 29
    # Nothing unread: the newest page.
    bob = api_as("bob").get(f"{BIKES}/messages", **{"from": "first_unread", "limit": 3}).json()
    assert [m["seq"] for m in bob["messages"]] == [28, 29, 30]
    assert bob["first_unread_seq"] is None


def test_before_and_after_together_are_refused(api_as):
    response = api_as("alice").get(f"{BIKES}/messages", before=3, after=1)

    assert response.status_code == 422
    assert error_of(response) == "validation_error"


def test_posting_a_message(demo, api_as, post):
    daves_unread = counter_of(demo["dave"])

    response = api_as("alice").post(
        f"{API}/orders/1001/conversations/daves-outdoor/messages",
        {"body": "  Is the tent\r\nwaterproof?  "},
    )

    assert response.status_code == 201
    body = response.json()
    assert body["seq"] == 1 and body["is_mine"] and body["author_role"] == "customer"
    assert body["body"] == "Is the tent\nwaterproof?"
    assert unread_of(demo["dave"], "1001", "daves-outdoor") == 1
    assert counter_of(demo["dave"]) == daves_unread + 1
    reply = api_as("dave").post(
        f"{API}/orders/1001/conversations/daves-outdoor/messages", {"body": "Yes."}
    )
    assert reply.json()["author_role"] == "vendor"
    assert_counters_exact()


@pytest.mark.parametrize("body, code", [("   ", "empty"), ("x" * 5001, "too_long"), ("", "empty")])
def test_a_refused_message_says_why_and_posts_nothing(api_as, body, code):
    before = snapshot()

    response = api_as("alice").post(f"{BIKES}/messages", {"body": body})

    assert response.status_code == 422
    assert error_of(response) == code
    assert snapshot() == before


@pytest.mark.parametrize("payload", [{}, {"body": None}, {"text": "Hi"}, [1, 2]])
def test_a_malformed_body_is_a_validation_error(api_as, payload):
    response = api_as("alice").post(f"{BIKES}/messages", payload)

    assert response.status_code == 422
    assert error_of(response) == "validation_error"
    assert response.json()["error"]["details"]


def test_a_body_that_is_not_json_is_a_validation_error(api_as):
    caller = api_as("alice")
    response = caller.client.post(
        f"{BIKES}/messages", "{not json", content_type="application/json", headers=caller.headers
    )

    assert response.status_code == 422
    assert error_of(response) == "validation_error"


def test_marking_read(demo, api_as, post):
    post("bob", "1002", "bobs-bikes", "One")
    post("bob", "1002", "bobs-bikes", "Two")
    alice = api_as("alice")
    assert alice.get(f"{API}/me/unread").json() == {"total": 2}

    assert alice.post(f"{BIKES}/read").json() == {"marked_read": 2, "unread_total": 0}
    assert alice.post(f"{BIKES}/read").json() == {"marked_read": 0, "unread_total": 0}
    assert alice.get(f"{API}/me/unread").json() == {"total": 0}
    assert unread_of(demo["alice"], "1002", "bobs-bikes") == 0
    assert_counters_exact()


def test_store_staff_reading_along_do_not_join(demo, api_as):
    response = api_as("admin").post(f"{BIKES}/read")

    assert response.json() == {"marked_read": 0, "unread_total": 0}
    assert not Participant.objects.filter(user=demo["admin"]).exists()


def test_opening_and_closing_a_dispute(demo, api_as):
    alice = api_as("alice")

    response = alice.post(f"{BIKES}/dispute", {"reason": "The bike arrived scratched."})

    assert response.status_code == 201
    opened = response.json()
    assert opened["status"] == "open" and opened["opened_by_name"] == "Alice Archer"
    assert opened["reason"] == "The bike arrived scratched."
    tab = alice.get(ORDER).json()["conversations"][0]
    assert tab["open_dispute"]["id"] == opened["id"]
    last = alice.get(f"{BIKES}/messages").json()["messages"][-1]
    assert last["kind"] == "dispute_opened" and last["body"] == "The bike arrived scratched."
    assert Participant.objects.filter(user=demo["admin"]).exists()  # the store joined

    again = alice.post(f"{BIKES}/dispute", {"reason": "Again"})
    assert again.status_code == 409
    assert error_of(again) == "dispute_open"

    admin = api_as("admin")
    unresolved = admin.post(f"{BIKES}/dispute/close")
    assert unresolved.status_code == 422
    assert error_of(unresolved) == "outcome_required"
    assert Dispute.objects.get().status == Dispute.Status.OPEN

    closed = admin.post(f"{BIKES}/dispute/close", {"outcome": "refunded", "note": "Refunded."})
    assert closed.status_code == 200
    assert closed.json()["status"] == "closed"
    assert closed.json()["closed_by_name"] == "Ada Admin"
    assert (closed.json()["outcome"], closed.json()["resolution_note"]) == (
        "refunded",
        "Refunded.",
    )
    assert alice.get(ORDER).json()["conversations"][0]["open_dispute"] is None
    assert Dispute.objects.get().status == Dispute.Status.CLOSED
    assert_counters_exact()


def test_closing_without_an_open_dispute_is_a_conflict(api_as):
    before = snapshot()

    for path in (f"{BIKES}/dispute/close", f"{API}/orders/1001/conversations/store/dispute/close"):
        response = api_as("alice").post(path)
        assert response.status_code == 409
        assert error_of(response) == "invalid_transition"
    assert snapshot() == before


@pytest.mark.parametrize("payload", [{"reason": "  "}, {"reason": "x" * 1001}])
def test_a_dispute_needs_a_reason(api_as, payload):
    before = snapshot()

    response = api_as("alice").post(f"{BIKES}/dispute", payload)

    assert response.status_code == 422
    assert error_of(response) == "reason_required"
    assert snapshot() == before


def test_a_vendor_may_not_handle_disputes(api_as, dispute):
    response = api_as("bob").post(f"{BIKES}/dispute", {"reason": "Forged"})
    assert response.status_code == 403
    assert error_of(response) == "forbidden"
    assert not Dispute.objects.exists()

    dispute.open("alice", "1002", "bobs-bikes")
    response = api_as("bob").post(f"{BIKES}/dispute/close")
    assert response.status_code == 403
    assert Dispute.objects.get().status == Dispute.Status.OPEN


# -- the back office ---------------------------------------------------------------------------


@pytest.fixture
def talk(demo, post):
    post("alice", "1001", "bobs-bikes", "Where is my helmet?")
    post("alice", "1001", "daves-outdoor", "Is the tent waterproof?")
    post("carol", "1005", "daves-outdoor", "When does the stove ship?")


def keys(response):
    return [(c["order_number"], c["vendor_key"]) for c in response.json()["items"]]


def test_the_back_office_list_is_scoped(talk, api_as):
    bob = api_as("bob").get(f"{API}/backoffice/conversations")
    assert keys(bob) == [("1001", "bobs-bikes"), ("1002", "bobs-bikes")]
    assert bob.json()["items"][0]["unread"] == 1
    assert bob.json()["items"][0]["customer_email"] is None
    assert bob.json()["items"][0]["my_role"] == "vendor"

    admin = api_as("admin").get(f"{API}/backoffice/conversations")
    assert len(admin.json()["items"]) == Conversation.objects.count()
    assert admin.json()["items"][0]["customer_email"] == "carol@customers.example"
    assert admin.json()["items"][0]["my_role"] == "staff"


def test_the_back_office_filters_and_search(talk, api_as, dispute):
    dispute.open("alice", "1001", "daves-outdoor", "Torn")
    dave = api_as("dave")

    unread = dave.get(f"{API}/backoffice/conversations", show="unread")
    # The guest's question on #1006 (seeded) is unread too.
    assert keys(unread) == [
        ("1001", "daves-outdoor"),
        ("1005", "daves-outdoor"),
        ("1006", "daves-outdoor"),
    ]
    dave.post(f"{API}/orders/1001/conversations/daves-outdoor/read")
    unread = dave.get(f"{API}/backoffice/conversations", show="unread")
    assert keys(unread) == [("1005", "daves-outdoor"), ("1006", "daves-outdoor")]
    disputes = dave.get(f"{API}/backoffice/conversations", show="disputes")
    assert keys(disputes) == [("1001", "daves-outdoor")]
    assert disputes.json()["items"][0]["open_dispute"]["reason"] == "Torn"
    found = dave.get(f"{API}/backoffice/conversations", q="stove")
    assert keys(found) == [("1005", "daves-outdoor")]
    assert keys(dave.get(f"{API}/backoffice/conversations", q="#1001")) == [
        ("1001", "daves-outdoor")
    ]

    response = dave.get(f"{API}/backoffice/conversations", show="everything")
    assert response.status_code == 422
    assert error_of(response) == "validation_error"


# -- pagination ------------------------------------------------------------------------------


def test_keyset_pages_of_my_conversations_cover_everything_once(no_conversations, api_as):
    demo = no_conversations
    make_conversations(customer=demo["alice"], vendor_user=demo["bob"], count=23, unread=8)
    alice = api_as("alice")

    seen, pages, after = [], 0, None
    while True:
        params = {"limit": 5} | ({"after": after} if after else {})
        page = alice.get(f"{API}/conversations", **params).json()
        seen += [(c["unread"] > 0, c["last_message_at"], c["id"]) for c in page["items"]]
        pages += 1
        after = page["next_cursor"]
        if after is None:
            break

    assert pages == 5
    assert len({i for _, _, i in seen}) == len(seen) == 23
    # Unread first, then newest activity.
    assert [u for u, _, _ in seen] == [True] * 8 + [False] * 15
    assert seen[:8] == sorted(seen[:8], key=lambda r: r[1], reverse=True)
    assert seen[8:] == sorted(seen[8:], key=lambda r: r[1], reverse=True)


def test_keyset_pages_of_the_back_office_cover_everything_once(no_conversations, api_as):
    demo = no_conversations
    made = make_conversations(customer=demo["alice"], vendor_user=demo["bob"], count=17)
    bob = api_as("bob")

    seen, after = [], None
    while True:
        params = {"limit": 4} | ({"after": after} if after else {})
        page = bob.get(f"{API}/backoffice/conversations", **params).json()
        seen += [c["id"] for c in page["items"]]
        after = page["next_cursor"]
        if after is None:
            break

    assert seen == [c.pk for c in made]  # newest first, each once


def lists_with_cursors() -> list[str]:
    """The paths of the served document whose ``after`` is a cursor (not a message's seq)."""
    return sorted(
        path
        for path, methods in api.get_openapi_schema()["paths"].items()
        for operation in methods.values()
        for parameter in operation.get("parameters", [])
        if parameter["in"] == "query"
        and parameter["name"] == "after"
        and any(c.get("type") == "string" for c in parameter["schema"].get("anyOf", []))
    )


CURSOR_LISTS = lists_with_cursors()
NOT_CURSORS = [
    "garbage",
    "u1772615522004000",  # cut short: no primary key
    "x1772615522004000.1",  # no list's part
    "s²",  # a search's position, but not a number
    "p",  # a page of orders, without its number
]
INVALID_CURSOR = "This cursor is not valid: ask for the first page again."


def test_the_lists_with_cursors_are_found():
    assert {
        f"{API}/conversations",
        f"{API}/backoffice/conversations",
        f"{API}/backoffice/orders",
        f"{API}/webhook-endpoints/{{endpoint_id}}/deliveries",
    } <= set(CURSOR_LISTS)
    assert f"{API}/orders/{{number}}/conversations/{{vendor_key}}/messages" not in CURSOR_LISTS


@pytest.mark.parametrize("cursor", NOT_CURSORS)
@pytest.mark.parametrize("path", CURSOR_LISTS)
def test_a_cursor_the_list_did_not_give_is_refused(api_as, path, cursor):
    endpoint = WebhookEndpoint.objects.create(
        url="https://hooks.shop.test/", secret=signing.new_secret(), events=["message.posted"]
    )

    response = api_as("admin").get(path.format(endpoint_id=endpoint.pk), after=cursor)

    assert response.status_code == 422
    assert error_of(response) == "invalid_cursor"
    assert response.json()["error"]["message"] == INVALID_CURSOR


def test_each_back_office_list_takes_only_its_own_cursors(talk, api_as):
    dave = api_as("dave")
    lists = {"newest": {}, "awaiting": {"show": "awaiting"}, "search": {"q": "the"}}
    cursors = {
        name: dave.get(f"{API}/backoffice/conversations", limit=1, **params).json()["next_cursor"]
        for name, params in lists.items()
    }
    assert all(cursors.values())

    for name, params in lists.items():
        for given_by, cursor in cursors.items():
            response = dave.get(f"{API}/backoffice/conversations", after=cursor, **params)
            assert response.status_code == (200 if given_by == name else 422), (name, given_by)


def test_an_empty_cursor_is_the_first_page(api_as):
    alice = api_as("alice")

    assert alice.get(f"{API}/conversations", after="").json() == (
        alice.get(f"{API}/conversations").json()
    )


# -- idempotent posting --------------------------------------------------------------------------


def test_the_same_key_twice_posts_once_and_answers_the_same(api_as):
    alice = api_as("alice")
    key = {"Idempotency-Key": "3f0c1b7e-retry"}

    first = alice.post(f"{BIKES}/messages", {"body": "Only once, please"}, headers=key)
    second = alice.post(f"{BIKES}/messages", {"body": "Only once, please"}, headers=key)

    assert first.status_code == second.status_code == 201
    assert second.content == first.content
    assert second["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first
    assert Message.objects.filter(body="Only once, please").count() == 1
    assert IdempotentRequest.objects.get().status_code == 201
    assert_counters_exact()


def test_the_same_key_with_another_request_is_refused(api_as):
    alice = api_as("alice")
    key = {"Idempotency-Key": "k-1"}
    alice.post(f"{BIKES}/messages", {"body": "First"}, headers=key)
    before = snapshot()

    other_body = alice.post(f"{BIKES}/messages", {"body": "Second"}, headers=key)
    other_path = alice.post(
        f"{API}/orders/1001/conversations/bobs-bikes/messages", {"body": "First"}, headers=key
    )

    for response in (other_body, other_path):
        assert response.status_code == 422
        assert error_of(response) == "idempotency_key_reused"
    assert snapshot() == before


def test_keys_are_per_user(api_as):
    key = {"Idempotency-Key": "same-key"}

    alice = api_as("alice").post(f"{BIKES}/messages", {"body": "Hello"}, headers=key)
    bob = api_as("bob").post(f"{BIKES}/messages", {"body": "Hello"}, headers=key)

    assert alice.status_code == bob.status_code == 201
    assert alice.json()["seq"] + 1 == bob.json()["seq"]
    assert bob.json()["author_role"] == "vendor"
    assert Message.objects.filter(body="Hello").count() == 2
    assert IdempotentRequest.objects.count() == 2


def test_a_refused_post_does_not_use_up_its_key(api_as):
    alice = api_as("alice")
    key = {"Idempotency-Key": "k-2"}

    assert alice.post(f"{BIKES}/messages", {"body": " "}, headers=key).status_code == 422
    assert not IdempotentRequest.objects.exists()
    assert alice.post(f"{BIKES}/messages", {"body": "Now"}, headers=key).status_code == 201


def test_a_key_stored_meanwhile_by_a_concurrent_request_is_replayed(api_as, monkeypatch):
    """Two requests with one key at once: both find the key new, the second's insert fails
    on the unique key, its message is rolled back and it answers what the first stored."""
    alice = api_as("alice")
    key = {"Idempotency-Key": "race"}
    first = alice.post(f"{BIKES}/messages", {"body": "Racing"}, headers=key)
    real_replay = idempotency.replay
    calls = []

    def replay_missing_the_first_time(**kwargs):
        calls.append(kwargs)
        return None if len(calls) == 1 else real_replay(**kwargs)

    monkeypatch.setattr(idempotency, "replay", replay_missing_the_first_time)
    second = alice.post(f"{BIKES}/messages", {"body": "Racing"}, headers=key)

    assert len(calls) == 2
    assert second.status_code == 201 and second.content == first.content
    assert Message.objects.filter(body="Racing").count() == 1
    assert_counters_exact()


@pytest.mark.django_db(transaction=True)
def test_a_burst_of_retries_with_one_key_posts_once(demo, api_as):
    """Really concurrent, each request in its own thread and database connection."""
    if connection.vendor != "postgresql":
        pytest.skip("needs a database with row locks shared by several connections")
    headers = api_as("alice").headers
    start = threading.Barrier(4)
    responses = []

    def send():
        try:
            start.wait()
            caller = Caller(Client(), headers)
            responses.append(
                caller.post(
                    f"{BIKES}/messages", {"body": "Once"}, headers={"Idempotency-Key": "burst"}
                )
            )
        finally:
            connection.close()

    threads = [threading.Thread(target=send) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert [r.status_code for r in responses] == [201] * 4
    assert len({r.content for r in responses}) == 1
    assert Message.objects.filter(body="Once").count() == 1
    assert IdempotentRequest.objects.filter(key="burst").count() == 1
    assert_counters_exact()


@pytest.mark.parametrize("key", ["", "x" * 256])
def test_an_unusable_key_is_a_validation_error(api_as, key):
    response = api_as("alice").post(
        f"{BIKES}/messages", {"body": "Hi"}, headers={"Idempotency-Key": key}
    )

    assert response.status_code == 422
    assert error_of(response) == "validation_error"
    assert not Message.objects.filter(body="Hi").exists()


# -- errors, CSRF, schema -----------------------------------------------------------------------


def test_every_error_has_one_shape(api_as):
    cases = [
        (api_as("anonymous").get(f"{API}/me/unread"), 401, "not_authenticated"),
        (api_as("alice").get(f"{API}/backoffice/conversations"), 403, "forbidden"),
        (api_as("alice").get(f"{API}/orders/9999/conversations"), 404, "not_found"),
        (api_as("alice").get(f"{API}/orders/1002/conversations/nobody/messages"), 404, "not_found"),
        (api_as("alice").get(f"{API}/conversations", limit=1000), 422, "validation_error"),
    ]
    for response, status, code in cases:
        assert response.status_code == status
        assert response["Content-Type"].startswith("application/json")
        assert error_of(response) == code


UNKNOWN_ID = 2**62


@pytest.mark.parametrize(
    "who, method, path, message",
    [
        ("alice", "get", f"{API}/orders/9999/conversations", "No such order or conversation."),
        ("alice", "get", f"{API}/attachments/{UNKNOWN_ID}/content", "No such file."),
        ("bob", "get", f"{API}/backoffice/dashboard/vendors/daves-outdoor", "No such vendor."),
        ("bob", "delete", f"{API}/saved-replies/{UNKNOWN_ID}", "No such saved reply."),
        (
            "alice",
            "delete",
            f"{API}/me/muted-conversations/{UNKNOWN_ID}",
            "No such muted conversation.",
        ),
        ("alice", "delete", f"{API}/me/tokens/{UNKNOWN_ID}", "No such API token."),
        ("admin", "get", f"{API}/webhook-endpoints/{UNKNOWN_ID}", "No such webhook endpoint."),
    ],
)
def test_a_404_says_what_was_not_found(api_as, who, method, path, message):
    caller = api_as(who)

    response = caller.client.generic(method.upper(), path, headers=caller.headers)

    assert response.status_code == 404
    assert error_of(response) == "not_found"
    assert response.json()["error"]["message"] == message


@pytest.mark.parametrize(
    "method, path",
    [
        ("get", f"{API}/nonexistent"),
        ("get", f"{API}/"),
        ("get", f"{API}/conversations/"),  # the API's paths end without a slash
        ("post", f"{API}/orders/1002"),
        ("delete", f"{API}/me/no/such/thing"),
    ],
)
@pytest.mark.parametrize("who", ["alice", "session", "anonymous"])
def test_a_path_that_is_not_the_apis_is_a_404_in_the_error_shape(api_as, who, method, path):
    client = Client(enforce_csrf_checks=True)
    caller = api_as("alice", session=True, client=client) if who == "session" else api_as(who)

    response = caller.client.generic(method.upper(), path, headers=caller.headers)

    assert response.status_code == 404
    assert response["Content-Type"].startswith("application/json")
    assert error_of(response) == "not_found"
    assert response.json()["error"]["message"] == "No such address in the API."


@pytest.mark.parametrize(
    "method, path, allowed",
    [
        ("delete", f"{API}/conversations", {"GET"}),
        ("put", f"{BIKES}/messages", {"GET", "POST"}),
        ("get", f"{API}/me/tokens/1", {"DELETE"}),
    ],
)
def test_a_method_the_path_does_not_take_is_a_405_in_the_error_shape(api_as, method, path, allowed):
    caller = api_as("alice")
    before = snapshot()

    response = caller.client.generic(method.upper(), path, headers=caller.headers)

    assert response.status_code == 405
    assert response["Content-Type"].startswith("application/json")
    assert error_of(response) == "method_not_allowed"
    assert set(response["Allow"].split(", ")) == allowed
    assert snapshot() == before


def test_error_messages_follow_the_language(api_as):
    caller = api_as("alice")
    caller.headers["Accept-Language"] = "de"

    response = caller.post(f"{BIKES}/messages", {"body": " "})

    assert error_of(response) == "empty"
    assert response.json()["error"]["message"] == (
        "Bitte schreiben Sie eine Nachricht, bevor Sie sie senden."
    )


def test_a_session_post_needs_the_csrf_token(demo, api_as):
    client = Client(enforce_csrf_checks=True)
    caller = api_as("alice", session=True, client=client)
    before = snapshot()

    response = caller.post(f"{BIKES}/messages", {"body": "Without CSRF"})

    assert response.status_code == 403
    assert error_of(response) == "forbidden"
    assert snapshot() == before
    # GET needs no token; with the token from the cookie, the POST goes through.
    assert caller.get(f"{API}/me/unread").status_code == 200
    client.get("/messages/preferences/")  # a page with a form sets the CSRF cookie
    token = client.cookies["csrftoken"].value
    response = caller.post(f"{BIKES}/messages", {"body": "With CSRF"}, {"X-CSRFToken": token})
    assert response.status_code == 201


def test_a_token_needs_no_csrf_token(api_as):
    caller = api_as("alice", client=Client(enforce_csrf_checks=True))

    response = caller.post(f"{BIKES}/messages", {"body": "From the app"})

    assert response.status_code == 201


def test_the_schema_and_docs_are_served(client_for):
    schema = Client().get(f"{API}/openapi.json")
    assert schema.status_code == 200
    spec = schema.json()
    assert spec["info"]["title"] == "Order Messages API"
    post = spec["paths"][f"{API}/orders/{{number}}/conversations/{{vendor_key}}/messages"]["post"]
    assert post["summary"] and post["description"] and post["tags"] == ["Conversations"]
    assert {"201", "401", "403", "404", "422"} <= set(post["responses"])
    assert any(p["name"] == "Idempotency-Key" for p in post["parameters"])
    assert Client().get(f"{API}/docs").status_code == 200


def test_posting_through_the_api_and_the_page_is_the_same_action(demo, api_as, client_for):
    api_as("alice").post(f"{BIKES}/messages", {"body": "Through the API"})

    page = client_for("bob").get("/messages/orders/1002/bobs-bikes/").content.decode()

    assert "Through the API" in page
    assert conversation_of("1002", "bobs-bikes").last_message_excerpt == "Through the API"
    assert timezone.now() - Message.objects.latest("pk").created_at < timedelta(minutes=1)
