"""Authorization (SPEC 9), case by case: what a vendor, another customer or store staff see
of a shared order. Every page and API operation for every kind of visitor is tried by the
generated matrix in tests/test_authorization_matrix.py."""

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from order_messages.models import Dispute, Message, Participant
from tests.conftest import snapshot

THREAD = "/messages/orders/1001/bobs-bikes/"


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
