"""The back office's Mark as read / Mark as unread through the API (B1): the ticked
conversations or all that a filter lists, one conversation unread, only in one's scope."""

import pytest

from order_messages.models import Participant
from tests.api_helpers import API, error_of, invalid_fields
from tests.conftest import assert_counters_exact, conversation_of, counter_of, unread_of

MARK = f"{API}/backoffice/conversations/mark"

pytest_plugins = ["tests.api_helpers"]


@pytest.fixture
def inbox(no_conversations, post):
    """Bob has unread messages in 1001 and 1002 and read 1005; Dave has unread in 1001."""
    post("alice", "1001", "bobs-bikes", "Helmet?")
    post("alice", "1002", "bobs-bikes", "Bike?")
    post("carol", "1005", "bobs-bikes", "Size?")
    post("alice", "1001", "daves-outdoor", "Tent?")
    from order_messages import actions

    actions.mark_read(
        conversation=conversation_of("1005", "bobs-bikes"), user=no_conversations["bob"]
    )
    return no_conversations


def test_marking_the_ticked_conversations_read(inbox, api_as):
    bob = inbox["bob"]
    ids = [conversation_of("1001", "bobs-bikes").pk]

    response = api_as("bob").post(MARK, {"action": "read", "ids": ids})

    assert response.status_code == 200
    assert response.json() == {"changed": 1, "unread_total": 1}
    assert unread_of(bob, "1001", "bobs-bikes") == 0
    assert unread_of(bob, "1002", "bobs-bikes") == 1
    assert counter_of(bob) == 1
    assert_counters_exact()


def test_marking_all_that_a_filter_lists(inbox, api_as):
    response = api_as("bob").post(MARK, {"action": "read", "show": "unread", "q": "Bike"})

    assert response.json()["changed"] == 1  # 1002 only: its text has "Bike"
    assert unread_of(inbox["bob"], "1002", "bobs-bikes") == 0
    assert unread_of(inbox["bob"], "1001", "bobs-bikes") == 1

    everything = api_as("bob").post(MARK, {"action": "read"})
    assert everything.json() == {"changed": 1, "unread_total": 0}


def test_marking_unread_flags_the_last_message(inbox, api_as):
    ids = [conversation_of("1005", "bobs-bikes").pk]

    response = api_as("bob").post(MARK, {"action": "unread", "ids": ids})

    assert response.json() == {"changed": 1, "unread_total": 3}
    assert unread_of(inbox["bob"], "1005", "bobs-bikes") == 1
    assert_counters_exact()


def test_another_vendors_conversations_are_left_alone(inbox, api_as):
    daves = conversation_of("1001", "daves-outdoor")

    response = api_as("bob").post(MARK, {"action": "read", "ids": [daves.pk]})

    assert response.json()["changed"] == 0
    assert unread_of(inbox["dave"], "1001", "daves-outdoor") == 1
    assert (
        error_of(api_as("bob").post(f"{API}/backoffice/conversations/{daves.pk}/unread"), 404)
        == "not_found"
    )


def test_one_conversation_marked_unread(inbox, api_as):
    conversation = conversation_of("1005", "bobs-bikes")
    url = f"{API}/backoffice/conversations/{conversation.pk}/unread"

    response = api_as("bob").post(url)

    assert response.status_code == 200
    assert response.json() == {"changed": 1, "unread_total": 3}
    assert api_as("bob").post(url).json()["changed"] == 0  # unread already


def test_store_staff_marking_unread_join_the_conversation(inbox, api_as):
    conversation = conversation_of("1002", "bobs-bikes")
    assert not Participant.objects.filter(conversation=conversation, user=inbox["admin"]).exists()

    api_as("admin").post(f"{API}/backoffice/conversations/{conversation.pk}/unread")

    assert Participant.objects.get(conversation=conversation, user=inbox["admin"]).role == "staff"
    assert unread_of(inbox["admin"], "1002", "bobs-bikes") == 1
    assert_counters_exact()


def test_customers_have_no_back_office(inbox, api_as):
    conversation = conversation_of("1001", "bobs-bikes")
    alice = api_as("alice")

    assert error_of(alice.post(MARK, {"action": "read"}), 403) == "forbidden"
    unread = f"{API}/backoffice/conversations/{conversation.pk}/unread"
    assert error_of(alice.post(unread), 403) == "forbidden"
    assert error_of(api_as("anonymous").post(MARK, {"action": "read"}), 401) == "not_authenticated"


@pytest.mark.parametrize(
    "body, field",
    [
        ({"action": "forget"}, "body.payload.action"),
        ({}, "body.payload.action"),
        ({"action": "read", "ids": []}, "body.payload.ids"),
        ({"action": "read", "ids": ["one"]}, "body.payload.ids.0"),
        ({"action": "read", "show": "mine"}, "body.payload.show"),
        ({"action": "read", "q": "x" * 201}, "body.payload.q"),
    ],
)
def test_bad_input_is_a_validation_error(inbox, api_as, body, field):
    response = api_as("bob").post(MARK, body)

    assert invalid_fields(response) == {field}
    assert unread_of(inbox["bob"], "1001", "bobs-bikes") == 1


def test_a_conversation_id_that_cannot_exist_is_a_validation_error(inbox, api_as):
    response = api_as("bob").post(f"{API}/backoffice/conversations/0/unread")
    assert invalid_fields(response) == {"path.conversation_id"}


def test_a_search_with_half_a_character_is_refused(inbox, api_as):
    response = api_as("bob").post(MARK, {"action": "read", "q": "helmet \ud800"})

    assert invalid_fields(response) == {"body.payload.q"}
    assert unread_of(inbox["bob"], "1001", "bobs-bikes") == 1
