"""E-mail preferences and muted conversations through the API (N3): the same choices as
the preferences page, and only one's own mutes."""

import re

import pytest

from order_messages import actions
from order_messages.models import Mute, NotificationSettings
from tests.api_helpers import API, error_of, invalid_fields
from tests.conftest import conversation_of

pytest_plugins = ["tests.api_helpers"]

PREFERENCES = f"{API}/me/email-preferences"
MUTED = f"{API}/me/muted-conversations"


def test_the_defaults_before_any_choice(demo, api_as):
    response = api_as("alice").get(PREFERENCES)

    assert response.status_code == 200
    assert response.json() == {"frequency": "each", "language": "", "languages": ["en", "de"]}


def test_changing_them_is_what_the_page_saves(demo, api_as, client_for):
    response = api_as("alice").put(PREFERENCES, {"frequency": "digest", "language": "de"})

    assert response.status_code == 200
    assert response.json()["frequency"] == "digest" and response.json()["language"] == "de"
    saved = NotificationSettings.objects.get(user=demo["alice"])
    assert (saved.frequency, saved.language) == ("digest", "de")
    page = client_for("alice").get("/messages/preferences/").content.decode()
    assert re.search(r'<input[^>]*value="digest"[^>]*checked', page)


@pytest.mark.parametrize(
    "body, field",
    [
        ({"frequency": "hourly"}, "body.payload.frequency"),
        ({"language": "de"}, "body.payload.frequency"),
        ({"frequency": "off", "language": "xx"}, "body.payload.language"),
    ],
)
def test_a_choice_not_offered_is_refused(demo, api_as, body, field):
    response = api_as("alice").put(PREFERENCES, body)

    assert invalid_fields(response) == {field}
    assert not NotificationSettings.objects.filter(user=demo["alice"]).exists()


def test_preferences_need_a_person(demo, api_as):
    assert error_of(api_as("anonymous").get(PREFERENCES), 401) == "not_authenticated"
    response = api_as("anonymous").put(PREFERENCES, {"frequency": "off"})
    assert error_of(response, 401) == "not_authenticated"


@pytest.fixture
def mutes(no_conversations, post):
    post("alice", "1001", "bobs-bikes", "Helmet?")
    post("alice", "1002", "bobs-bikes", "Bike?")
    post("carol", "1005", "bobs-bikes", "Size?")
    for number in ("1001", "1002"):
        actions.mute_conversation(
            conversation=conversation_of(number, "bobs-bikes"), email="Alice@Customers.example"
        )
    actions.mute_conversation(
        conversation=conversation_of("1005", "bobs-bikes"), email="carol@customers.example"
    )
    return no_conversations


def test_my_muted_conversations_newest_first_in_pages(mutes, api_as):
    alice = api_as("alice")

    first = alice.get(MUTED, limit=1).json()
    second = alice.get(MUTED, limit=1, after=first["next_cursor"]).json()

    assert [m["order_number"] for m in first["items"] + second["items"]] == ["1002", "1001"]
    assert first["items"][0]["title"] == "Order #1002"
    assert second["next_cursor"] is None


def test_a_muted_conversation_i_may_no_longer_read_is_not_listed(mutes, api_as):
    """The store gives order #1002 to Carol: Alice's list no longer names it."""
    from demo.store.models import Order

    Order.objects.filter(number="1002").update(customer=mutes["carol"], email="")

    listed = api_as("alice").get(MUTED).json()["items"]

    assert [m["order_number"] for m in listed] == ["1001"]


def test_unmuting_one_of_mine(mutes, api_as):
    conversation = conversation_of("1002", "bobs-bikes")

    response = api_as("alice").delete(f"{MUTED}/{conversation.pk}")

    assert response.status_code == 204
    assert not Mute.objects.filter(conversation=conversation).exists()
    assert [m["order_number"] for m in api_as("alice").get(MUTED).json()["items"]] == ["1001"]


def test_someone_elses_mute_is_not_mine_to_undo(mutes, api_as):
    carols = conversation_of("1005", "bobs-bikes")

    response = api_as("alice").delete(f"{MUTED}/{carols.pk}")

    assert error_of(response, 404) == "not_found"
    assert Mute.objects.filter(conversation=carols).exists()
    assert api_as("bob").get(MUTED).json()["items"] == []


def test_bad_input_is_a_validation_error(mutes, api_as):
    assert invalid_fields(api_as("alice").get(MUTED, limit=0)) == {"query.limit"}
    assert invalid_fields(api_as("alice").delete(f"{MUTED}/0")) == {"path.conversation_id"}
