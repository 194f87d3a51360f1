"""Authorization (SPEC 9): every page, for every kind of visitor. Refused requests change
nothing."""

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from order_messages.models import Conversation, Dispute, Message, Participant
from tests.conftest import assert_counters_exact, snapshot

THREAD = "/messages/orders/1001/bobs-bikes/"
LOGIN = "/accounts/login/"

# (name, method, path, data)
PAGES = {
    "inbox": ("get", "/messages/", None),
    "order": ("get", "/messages/orders/1001/", None),
    "thread": ("get", THREAD, None),
    "post": ("post", THREAD, {"body": "Let me in"}),
    "open_form": ("get", THREAD + "dispute/open/", None),
    "open": ("post", THREAD + "dispute/open/", {"reason": "Forged"}),
    "close_form": ("get", THREAD + "dispute/close/", None),
    "close": ("post", THREAD + "dispute/close/", None),
    "badge": ("get", "/messages/unread/", None),
    "order_detail": ("get", "/orders/1001/", None),
    "dashboard": ("get", "/messages/dashboard/", None),
    "mark_read": ("post", "/messages/mark/", {"action": "read", "conversation": "THREAD"}),
    "mark_unread": ("post", "/messages/mark/", {"action": "unread", "conversation": "THREAD"}),
    "mark_all": ("post", "/messages/mark/", {"all": "read"}),
}

OK, REDIRECT, FORBIDDEN, MISSING, TO_LOGIN = 200, 302, 403, 404, "login"
IGNORED = "ignored"  # redirected back to the list, and nothing changed

# What each visitor gets on order #1001's conversation with Bob's Bikes.
EXPECTED = {
    "anonymous": {  # e.g. a customer following an e-mail link while logged out
        "inbox": TO_LOGIN,
        "order": TO_LOGIN,
        "thread": TO_LOGIN,
        "post": TO_LOGIN,
        "open_form": TO_LOGIN,
        "open": TO_LOGIN,
        "close_form": TO_LOGIN,
        "close": TO_LOGIN,
        "badge": OK,
        "order_detail": TO_LOGIN,
        "dashboard": TO_LOGIN,
        "mark_read": TO_LOGIN,
        "mark_unread": TO_LOGIN,
        "mark_all": TO_LOGIN,
    },
    "alice": {  # the customer
        "inbox": OK,
        "order": REDIRECT,
        "thread": OK,
        "post": REDIRECT,
        "open_form": OK,
        "open": REDIRECT,
        "close_form": OK,
        "close": REDIRECT,
        "badge": OK,
        "order_detail": OK,
        "dashboard": FORBIDDEN,
        "mark_read": FORBIDDEN,
        "mark_unread": FORBIDDEN,
        "mark_all": FORBIDDEN,
    },
    "carol": {  # another customer
        "inbox": OK,
        "order": MISSING,
        "thread": MISSING,
        "post": MISSING,
        "open_form": MISSING,
        "open": MISSING,
        "close_form": MISSING,
        "close": MISSING,
        "badge": OK,
        "order_detail": MISSING,
        "dashboard": FORBIDDEN,
        "mark_read": FORBIDDEN,
        "mark_unread": FORBIDDEN,
        "mark_all": FORBIDDEN,
    },
    "bob": {  # the vendor of this conversation
        "inbox": OK,
        "order": REDIRECT,
        "thread": OK,
        "post": REDIRECT,
        "open_form": FORBIDDEN,
        "open": FORBIDDEN,
        "close_form": FORBIDDEN,
        "close": FORBIDDEN,
        "badge": OK,
        "order_detail": MISSING,
        "dashboard": OK,
        "mark_read": REDIRECT,
        "mark_unread": REDIRECT,
        "mark_all": REDIRECT,
    },
    "dave": {  # a vendor of another sub-order of the same order
        "inbox": OK,
        "order": REDIRECT,  # to his own conversation
        "thread": MISSING,
        "post": MISSING,
        "open_form": MISSING,
        "open": MISSING,
        "close_form": MISSING,
        "close": MISSING,
        "badge": OK,
        "order_detail": MISSING,
        "dashboard": OK,
        "mark_read": IGNORED,
        "mark_unread": IGNORED,
        "mark_all": REDIRECT,
    },
    "admin": {  # store staff
        "inbox": OK,
        "order": REDIRECT,
        "thread": OK,
        "post": REDIRECT,
        "open_form": OK,
        "open": REDIRECT,
        "close_form": OK,
        "close": REDIRECT,
        "badge": OK,
        "order_detail": MISSING,  # the storefront page is the customer's
        "dashboard": OK,
        "mark_read": REDIRECT,
        "mark_unread": REDIRECT,
        "mark_all": REDIRECT,
    },
    "clerk": {  # store staff without manage_conversations: a customer like any other
        "inbox": OK,
        "order": MISSING,
        "thread": MISSING,
        "post": MISSING,
        "open_form": MISSING,
        "open": MISSING,
        "close_form": MISSING,
        "close": MISSING,
        "badge": OK,
        "order_detail": MISSING,
        "dashboard": FORBIDDEN,
        "mark_read": FORBIDDEN,
        "mark_unread": FORBIDDEN,
        "mark_all": FORBIDDEN,
    },
}

CASES = [(who, page) for who, pages in EXPECTED.items() for page in pages]


@pytest.fixture
def world(demo, post, dispute):
    """Alice has written to Bob and to Dave about #1001; with ``open`` a dispute is open
    with Bob."""

    def make(open_dispute=False):
        post("alice", "1001", "bobs-bikes", "Hello Bob")
        post("alice", "1001", "daves-outdoor", "Hello Dave")
        if open_dispute:
            dispute.open("alice", "1001", "bobs-bikes", "Real dispute")

    return make


def client_as(demo, who):
    client = Client()
    if who == "clerk":
        user = get_user_model().objects.create_user(username="clerk", is_staff=True)
        client.force_login(user)
    elif who != "anonymous":
        client.force_login(demo[who])
    return client


def request(client, page):
    method, path, data = PAGES[page]
    data = dict(data or {})
    if data.get("conversation") == "THREAD":
        data["conversation"] = Conversation.objects.get(
            order_number="1001", vendor_key="bobs-bikes"
        ).pk
    return getattr(client, method)(path, data)


@pytest.mark.parametrize("who, page", CASES)
def test_every_page_for_every_visitor(demo, world, who, page):
    world(open_dispute=page in ("close", "close_form"))
    before = snapshot()

    response = request(client_as(demo, who), page)

    expected = EXPECTED[who][page]
    if expected == TO_LOGIN:
        assert response.status_code == 302
        assert response["Location"].startswith(LOGIN + "?next=")
    elif expected == IGNORED:
        assert response.status_code == 302
        assert response["Location"] == "/messages/"
    else:
        assert response.status_code == expected
    after = snapshot()
    if expected in (TO_LOGIN, FORBIDDEN, MISSING, IGNORED):
        assert after == before
    elif page in ("post", "open", "close"):
        assert after["messages"] != before["messages"]
    else:
        # Reading may mark messages read, and nothing else.
        for table in ("conversations", "messages", "disputes"):
            assert after[table] == before[table]
    assert_counters_exact()


def test_the_order_page_sends_each_vendor_to_their_own_conversation(client_for, world):
    world()

    assert client_for("bob").get("/messages/orders/1001/")["Location"] == THREAD
    assert (
        client_for("dave").get("/messages/orders/1001/")["Location"]
        == "/messages/orders/1001/daves-outdoor/"
    )


def test_a_vendor_sees_only_their_own_tab_and_items(client_for, world):
    world()

    page = client_for("bob").get(THREAD).content.decode()

    assert "Hello Bob" in page
    assert "Bike helmet Aero" in page
    assert "Hello Dave" not in page
    assert "Dave&#x27;s Outdoor" not in page
    assert "Two-person tent Ridge" not in page
    assert "Insulated water bottle" not in page
    assert "/messages/orders/1001/daves-outdoor/" not in page
    assert "/messages/orders/1001/store/" not in page


def test_a_vendor_sees_no_dispute_controls(client_for, world):
    world(open_dispute=True)

    page = client_for("bob").get(THREAD).content.decode()

    assert "Dispute opened on" in page
    assert "dispute/open/" not in page
    assert "dispute/close/" not in page


@pytest.mark.parametrize(
    "who, status", [("carol", 404), ("bob", 404), ("dave", 200), ("admin", 200)]
)
def test_an_order_is_invisible_to_vendors_with_nothing_in_it(demo, who, status):
    client = client_as(demo, who)  # #1003: Alice's order from Dave's Outdoor only

    assert client.get("/messages/orders/1003/daves-outdoor/").status_code == status
    assert client.get("/messages/orders/1003/").status_code == (302 if status == 200 else 404)


@pytest.mark.parametrize("who", ["carol", "dave"])
def test_outsiders_cannot_post_into_a_conversation(demo, world, who):
    world()
    before = snapshot()

    for path in (THREAD, "/messages/orders/1002/bobs-bikes/"):
        response = client_as(demo, who).post(path, {"body": "Sneaky"})
        assert response.status_code == 404

    assert snapshot() == before
    assert not Message.objects.filter(body="Sneaky").exists()


def test_a_vendor_forging_a_dispute_post_gets_403_and_nothing_changes(client_for, world):
    world()
    before = snapshot()

    response = client_for("bob").post(THREAD + "dispute/open/", {"reason": "Forged"})

    assert response.status_code == 403
    assert snapshot() == before
    assert not Dispute.objects.exists()


def test_a_vendor_forging_a_close_gets_403_and_the_dispute_stays_open(client_for, world):
    world(open_dispute=True)
    before = snapshot()

    response = client_for("bob").post(THREAD + "dispute/close/")

    assert response.status_code == 403
    assert snapshot() == before
    assert Dispute.objects.get().status == Dispute.Status.OPEN


def test_a_vendor_cannot_reach_disputes_of_another_vendors_conversation(client_for, world):
    world(open_dispute=True)
    before = snapshot()

    for suffix in ("dispute/open/", "dispute/close/"):
        response = client_for("dave").post(THREAD + suffix, {"reason": "Forged"})
        assert response.status_code == 404

    assert snapshot() == before


def test_the_inbox_shows_only_conversations_in_scope(client_for, world):
    world()

    bob = client_for("bob").get("/messages/").content.decode()
    carol = client_for("carol").get("/messages/").content.decode()

    assert "Hello Bob" in bob
    assert "Hello Dave" not in bob
    assert "Hello" not in carol
    assert "Order #1001" not in carol


def test_store_staff_read_along_without_becoming_participants(demo, client_for, world):
    world()

    response = client_for("admin").get(THREAD)

    assert "Hello Bob" in response.content.decode()
    assert not Participant.objects.filter(user=demo["admin"]).exists()


def test_the_badge_of_an_anonymous_visitor_shows_no_count(world):
    response = Client().get("/messages/unread/")

    assert response.status_code == 200
    assert 'data-testid="unread-count"' not in response.content.decode()


@pytest.mark.parametrize(
    "path", ["/messages/orders/9999/", "/messages/orders/9999/store/", "/orders/9999/"]
)
def test_an_unknown_order_is_404(client_for, path):
    assert client_for("admin").get(path).status_code == 404


def test_an_unknown_tab_is_404(client_for):
    assert client_for("alice").get("/messages/orders/1002/daves-outdoor/").status_code == 404
    assert client_for("alice").get("/messages/orders/1002/store/").status_code == 404


def test_other_methods_are_refused(client_for):
    client = client_for("alice")

    assert client.put(THREAD).status_code == 405
    assert client.delete(THREAD).status_code == 405
    assert client.post("/messages/").status_code == 405
    assert client.post("/messages/unread/").status_code == 405


@pytest.mark.parametrize(
    "path",
    [
        "/messages/orders/10%0001/",
        "/messages/orders/1001/bobs%00-bikes/",
        "/messages/?q=%00",
        "/messages/?q=1001%00",
        "/api/v1/backoffice/conversations?q=%00",
        "/api/v1/orders/10%0001/conversations",
    ],
)
def test_a_nul_byte_in_the_address_is_a_clear_answer_not_a_server_error(client_for, path):
    response = client_for("admin").get(path)

    assert response.status_code in (200, 404, 422), response.content[:300]
