"""What counts as read on a thread page (S3): what the page shows when it is opened; a
message that arrives live, once the page reports it was on screen in a visible tab."""

import re

import pytest
from django.test import Client

from order_messages.guest import make_guest_token
from tests.conftest import (
    assert_counters_exact,
    counter_of,
    unread_of,
)

THREAD = "/messages/orders/1002/bobs-bikes/"
READ = THREAD + "read/"
LIVE = {"X-Order-Messages-Live": "1", "HX-Request": "true"}


@pytest.fixture
def asked(no_conversations, post):
    """Alice asked Bob about order 1002 and has read his first answer."""
    post("alice", "1002", "bobs-bikes", "Is the bike assembled?")
    post("bob", "1002", "bobs-bikes", "Yes.")
    return no_conversations


def test_opening_the_page_reads_what_it_shows(asked, client_for, demo):
    page = client_for("alice").get(THREAD).content.decode()

    assert unread_of(demo["alice"], "1002", "bobs-bikes") == 0
    assert 'data-read-seq="2"' in page
    assert_counters_exact()


def test_a_live_reload_leaves_new_messages_unread(asked, client_for, demo, post):
    alice = client_for("alice")
    alice.get(THREAD)
    post("bob", "1002", "bobs-bikes", "It ships today.")

    page = alice.get(THREAD, headers=LIVE).content.decode()

    assert "It ships today." in page
    assert unread_of(demo["alice"], "1002", "bobs-bikes") == 1
    assert counter_of(demo["alice"]) == 1
    # The page knows what is read, and marks the rest for its script to watch.
    assert 'data-read-seq="2"' in page
    assert re.search(
        r'class="om-divider"[^>]*><span[^>]*>New messages</span></li>\s*<li [^>]*id="m-3"', page
    )
    assert_counters_exact()


def test_the_page_reports_what_was_seen(asked, client_for, demo, post):
    alice = client_for("alice")
    alice.get(THREAD)
    post("bob", "1002", "bobs-bikes", "It ships today.")
    post("bob", "1002", "bobs-bikes", "Tracking number follows.")

    response = alice.post(READ, {"seq": "3"})

    assert response.status_code == 204
    assert unread_of(demo["alice"], "1002", "bobs-bikes") == 1
    assert counter_of(demo["alice"]) == 1
    alice.post(READ, {"seq": "4"})
    assert unread_of(demo["alice"], "1002", "bobs-bikes") == 0
    assert counter_of(demo["alice"]) == 0
    assert_counters_exact()


def test_a_report_beyond_the_last_message_reads_no_further(asked, client_for, demo, post):
    alice = client_for("alice")
    alice.get(THREAD)

    assert alice.post(READ, {"seq": "99"}).status_code == 204

    post("bob", "1002", "bobs-bikes", "One more thing.")
    assert unread_of(demo["alice"], "1002", "bobs-bikes") == 1
    assert_counters_exact()


def test_a_report_needs_a_message_number(asked, client_for):
    assert client_for("alice").post(READ, {"seq": "last"}).status_code == 400


def test_a_report_for_a_conversation_out_of_reach_is_404(asked, client_for, demo):
    before = unread_of(demo["bob"], "1002", "bobs-bikes")
    response = client_for("dave").post(READ, {"seq": "2"})
    assert response.status_code == 404
    assert unread_of(demo["bob"], "1002", "bobs-bikes") == before


def test_a_report_from_a_guest_changes_nothing(demo, order, post):
    post("dave", "1006", "daves-outdoor", "It is warm down to -5 °C.")
    before = unread_of(demo["dave"], "1006", "daves-outdoor")
    guest = Client()
    guest.get(f"/messages/guest/{make_guest_token(order('1006'))}/")

    response = guest.post("/messages/orders/1006/daves-outdoor/read/", {"seq": "99"})

    assert response.status_code == 204
    assert unread_of(demo["dave"], "1006", "daves-outdoor") == before
    assert_counters_exact()


# -- whose message is whose --------------------------------------------------------------------


def mine(page):
    """The texts of the messages the page shows as the reader's own."""
    return re.findall(
        r'<li class="om-msg [^"]*om-msg--mine[^"]*".*?<div class="om-msg__body">(.*?)</div>',
        page,
        re.S,
    )


def test_a_guest_sees_their_own_messages_as_theirs(demo, order, post):
    guest = Client()
    guest.get(f"/messages/guest/{make_guest_token(order('1006'))}/")
    guest.post("/messages/orders/1006/daves-outdoor/", {"body": "Any news?"})
    post("dave", "1006", "daves-outdoor", "Shipped this morning.")

    page = guest.get("/messages/orders/1006/daves-outdoor/").content.decode()

    assert "Any news?" in mine(page)
    assert "Shipped this morning." not in " ".join(mine(page))
    # The seller sees the guest's messages as the guest's, not as theirs.
    dave = Client()
    dave.force_login(demo["dave"])
    dave_page = dave.get("/messages/orders/1006/daves-outdoor/").content.decode()
    assert "Shipped this morning." in mine(dave_page)
    assert "Any news?" not in " ".join(mine(dave_page))


def test_a_customer_sees_their_own_messages_as_theirs(asked, client_for):
    page = client_for("alice").get(THREAD).content.decode()
    assert mine(page) == ["Is the bike assembled?"]
