"""Disputes through the JSON API: what went wrong and what the customer asks
for, the seller's deadline, escalation, the resolution with its outcome and note, every
dispute of a conversation, and the choices with their labels."""

from datetime import datetime, timedelta
from typing import get_args

import pytest
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from order_messages import actions
from order_messages.api.schemas import DisputeStatus, Outcome, Requested
from order_messages.models import Dispute, Message
from tests import test_api
from tests.conftest import assert_counters_exact
from tests.test_api import API, BIKES, ORDER, error_of, snapshot

pytestmark = pytest.mark.usefixtures("no_conversations")
api_as = test_api.api_as  # the fixture: callers with a token or a session

OPTIONS = f"{API}/dispute-options"
DISPUTES = f"{BIKES}/disputes"
CLOSE = f"{BIKES}/dispute/close"


@pytest.fixture(autouse=True)
def asked(no_conversations, post):
    """Alice asked Bob's Bikes about the order first: a dispute follows a question."""
    return post("alice", "1002", "bobs-bikes", "The bike arrived scratched, what now?")


def open_one(caller, **fields):
    response = caller.post(f"{BIKES}/dispute", {"reason": "The bike arrived scratched.", **fields})
    assert response.status_code == 201, response.content
    return response.json()


# -- opening ------------------------------------------------------------------------------


def test_a_dispute_says_what_went_wrong_and_what_the_customer_asks(demo, api_as):
    before = timezone.now()

    opened = open_one(api_as("alice"), reason_code="damaged", requested="replacement")

    assert (opened["status"], opened["reason_code"], opened["reason_label"]) == (
        "open",
        "damaged",
        "Damaged",
    )
    assert opened["requested"] == "replacement"
    assert opened["reason"] == "The bike arrived scratched."
    dispute = Dispute.objects.get()
    assert (dispute.reason_code, dispute.requested) == ("damaged", "replacement")
    # The seller's clock: 48 hours from the opening (ORDER_MESSAGES_DISPUTE_RESPONSE_HOURS).
    respond_by = datetime.fromisoformat(opened["respond_by"])
    assert abs(respond_by - dispute.respond_by) < timedelta(milliseconds=1)
    assert timedelta(hours=48) <= dispute.respond_by - before < timedelta(hours=48, minutes=1)
    for field in ("responded_at", "escalated_at", "closed_at", "closed_by_name", "outcome"):
        assert opened[field] is None, field
    assert opened["resolution_note"] == ""


def test_without_choices_a_dispute_is_about_something_else(api_as):
    opened = open_one(api_as("alice"))

    assert (opened["reason_code"], opened["requested"]) == ("other", "other")
    assert opened["reason_label"] == "Other"


def test_a_reason_the_store_does_not_offer_is_refused(api_as):
    before = snapshot()

    response = api_as("alice").post(
        f"{BIKES}/dispute", {"reason": "Scratched", "reason_code": "changed_my_mind"}
    )

    assert response.status_code == 422
    assert error_of(response) == "invalid_choice"
    assert "damaged" in response.json()["error"]["message"]  # the keys it may be
    assert snapshot() == before


def test_the_store_chooses_the_reasons(api_as, settings):
    settings.ORDER_MESSAGES_DISPUTE_REASONS = [("late", "Arrived late"), ("other", "Other")]
    alice = api_as("alice")

    refused = alice.post(f"{BIKES}/dispute", {"reason": "Scratched", "reason_code": "damaged"})
    assert error_of(refused) == "invalid_choice"

    opened = open_one(alice, reason_code="late")
    assert opened["reason_label"] == "Arrived late"


def test_what_the_customer_asks_for_must_be_one_of_the_list(api_as):
    before = snapshot()

    response = api_as("alice").post(
        f"{BIKES}/dispute", {"reason": "Scratched", "requested": "a new car"}
    )

    assert response.status_code == 422
    assert error_of(response) == "validation_error"
    assert response.json()["error"]["details"][0]["location"][-1] == "requested"
    assert snapshot() == before


def test_vendors_still_may_not_open_or_close_a_dispute(api_as, dispute):
    bob = api_as("bob")
    response = bob.post(f"{BIKES}/dispute", {"reason": "Forged", "reason_code": "damaged"})
    assert (response.status_code, error_of(response)) == (403, "forbidden")

    dispute.open("alice", "1002", "bobs-bikes")
    for body in (None, {"outcome": "rejected", "note": "Not our fault."}):
        response = bob.post(CLOSE, body)
        assert (response.status_code, error_of(response)) == (403, "forbidden")
    assert Dispute.objects.get().status == Dispute.Status.OPEN


# -- closing ------------------------------------------------------------------------------


def test_a_customer_closing_their_dispute_withdraws_it(api_as):
    alice = api_as("alice")
    open_one(alice)

    closed = alice.post(CLOSE, {"note": "Found the box."})

    assert closed.status_code == 200
    body = closed.json()
    assert (body["status"], body["outcome"]) == ("closed", "withdrawn")
    assert (body["closed_by_name"], body["resolution_note"]) == ("Alice Archer", "Found the box.")


def test_a_customer_cannot_resolve_with_another_outcome(api_as):
    alice = api_as("alice")
    open_one(alice)
    before = snapshot()

    response = alice.post(CLOSE, {"outcome": "refunded"})

    assert response.status_code == 422
    assert error_of(response) == "invalid_choice"
    assert snapshot() == before


def test_store_staff_must_give_an_outcome(api_as):
    open_one(api_as("alice"))
    admin = api_as("admin")
    before = snapshot()

    for body in (None, {"note": "Sorted."}, {"outcome": None}):
        response = admin.post(CLOSE, body)
        assert response.status_code == 422
        assert error_of(response) == "outcome_required"
    assert snapshot() == before


def test_an_outcome_that_does_not_exist_is_a_validation_error(api_as):
    open_one(api_as("alice"))

    response = api_as("admin").post(CLOSE, {"outcome": "forgiven"})

    assert response.status_code == 422
    assert error_of(response) == "validation_error"
    assert Dispute.objects.get().status == Dispute.Status.OPEN


def test_store_staff_resolve_with_an_outcome_and_a_note(api_as):
    alice = api_as("alice")
    open_one(alice, reason_code="damaged", requested="replacement")

    response = api_as("admin").post(CLOSE, {"outcome": "replaced", "note": "A new one ships."})

    assert response.status_code == 200
    resolved = response.json()
    assert (resolved["status"], resolved["outcome"]) == ("closed", "replaced")
    assert resolved["resolution_note"] == "A new one ships."
    assert resolved["closed_by_name"] == "Ada Admin"
    # The customer reads the note in the thread: the resolution's system message.
    last = alice.get(f"{BIKES}/messages").json()["messages"][-1]
    assert (last["kind"], last["body"]) == ("dispute_closed", "A new one ships.")
    assert_counters_exact()


def test_a_note_that_is_too_long_is_refused(api_as, settings):
    settings.ORDER_MESSAGES_MAX_REASON_LENGTH = 20
    open_one(api_as("alice"), reason="Scratched")

    response = api_as("admin").post(CLOSE, {"outcome": "rejected", "note": "x" * 21})

    assert response.status_code == 422
    assert error_of(response) == "invalid_choice"
    assert Dispute.objects.get().status == Dispute.Status.OPEN


# -- escalation ----------------------------------------------------------------------------


def test_an_escalated_dispute_shows_as_such_and_staff_resolve_it(demo, api_as):
    alice = api_as("alice")
    opened = open_one(alice)
    late = timezone.now() + timedelta(hours=49)
    assert actions.escalate_overdue_disputes(now=late) == 1

    tab = alice.get(ORDER).json()["conversations"][0]
    assert tab["open_dispute"]["status"] == "escalated"
    assert tab["open_dispute"]["escalated_at"] is not None
    (row,) = api_as("admin").get(f"{API}/backoffice/conversations").json()["items"]
    assert row["escalated"] is True
    assert row["open_dispute"]["id"] == opened["id"]
    last = alice.get(f"{BIKES}/messages").json()["messages"][-1]
    assert last["kind"] == "dispute_escalated"

    resolved = api_as("admin").post(CLOSE, {"outcome": "refunded", "note": "Refunded."})

    assert resolved.status_code == 200
    assert resolved.json()["escalated_at"] is not None  # the record keeps it
    (row,) = api_as("admin").get(f"{API}/backoffice/conversations").json()["items"]
    assert (row["escalated"], row["open_dispute"]) == (False, None)


# -- every dispute of a conversation -------------------------------------------------------


def test_every_dispute_of_the_conversation_newest_first(api_as, settings):
    settings.ORDER_MESSAGES_DISPUTE_RATE_LIMIT = None
    alice, admin = api_as("alice"), api_as("admin")
    first = open_one(alice, reason_code="damaged")
    admin.post(CLOSE, {"outcome": "replaced", "note": "Replaced."})
    second = open_one(alice, reason_code="missing_parts", requested="refund")
    alice.post(CLOSE)
    third = open_one(alice, reason_code="wrong_item")

    for caller in (alice, admin, api_as("bob")):  # the vendor reads them too
        response = caller.get(DISPUTES)
        assert response.status_code == 200
        items = response.json()["items"]
        assert [d["id"] for d in items] == [third["id"], second["id"], first["id"]]
        assert [(d["status"], d["outcome"]) for d in items] == [
            ("open", None),
            ("closed", "withdrawn"),
            ("closed", "replaced"),
        ]
        assert items[2]["resolution_note"] == "Replaced."
        assert items[1]["requested"] == "refund"


def test_a_conversation_without_disputes_lists_none(api_as, post):
    alice = api_as("alice")
    assert alice.get(DISPUTES).json() == {"items": []}  # not even started

    post("alice", "1002", "bobs-bikes", "Hello")
    assert alice.get(DISPUTES).json() == {"items": []}


@pytest.mark.parametrize("who", ["carol", "dave", "clerk"])
def test_the_disputes_of_a_conversation_one_may_not_read_are_not_found(api_as, dispute, who):
    dispute.open("alice", "1002", "bobs-bikes")

    response = api_as(who).get(DISPUTES)

    assert response.status_code == 404
    assert error_of(response) == "not_found"


def test_listing_disputes_needs_authentication(api_as):
    response = api_as("anonymous").get(DISPUTES)
    assert (response.status_code, error_of(response)) == (401, "not_authenticated")


# -- the choices ----------------------------------------------------------------------------


def test_the_options_list_reasons_requests_and_outcomes(api_as):
    response = api_as("bob").get(OPTIONS)

    assert response.status_code == 200
    options = response.json()
    assert options["reasons"] == [
        {"key": "not_received", "label": "Not received"},
        {"key": "damaged", "label": "Damaged"},
        {"key": "not_as_described", "label": "Not as described"},
        {"key": "wrong_item", "label": "Wrong item"},
        {"key": "missing_parts", "label": "Missing parts"},
        {"key": "other", "label": "Other"},
    ]
    assert [o["key"] for o in options["requests"]] == ["refund", "replacement", "return", "other"]
    assert [o["key"] for o in options["outcomes"]] == [
        "refunded",
        "replaced",
        "returned",
        "rejected",
        "withdrawn",
    ]
    assert options["outcomes"][-1]["label"] == "Withdrawn by the customer"


def test_the_labels_follow_the_requests_language(api_as, settings, dispute):
    # A label the German catalogue already has, so this tests the mechanism whatever the
    # state of the translations.
    settings.ORDER_MESSAGES_DISPUTE_REASONS = [("messages", _("Messages")), ("other", _("Other"))]
    dispute.open("alice", "1002", "bobs-bikes", reason_code="messages")
    alice = api_as("alice")

    german = {"Accept-Language": "de"}
    options = alice.client.get(OPTIONS, headers={**alice.headers, **german}).json()
    listed = alice.client.get(DISPUTES, headers={**alice.headers, **german}).json()

    assert options["reasons"][0] == {"key": "messages", "label": "Nachrichten"}
    assert listed["items"][0]["reason_label"] == "Nachrichten"
    assert alice.get(OPTIONS).json()["reasons"][0]["label"] == "Messages"


def test_the_options_need_authentication(api_as):
    response = api_as("anonymous").get(OPTIONS)
    assert (response.status_code, error_of(response)) == (401, "not_authenticated")


# -- conversations -------------------------------------------------------------------------


def test_a_conversation_tells_how_long_the_customer_has_waited(demo, api_as, post, asked):
    first = asked  # Alice's question, unanswered
    post("alice", "1002", "bobs-bikes", "Hello?")

    (row,) = api_as("bob").get(f"{API}/conversations").json()["items"]
    assert row["awaiting_since"] is not None
    assert row["awaiting_since"][:19] == first.created_at.isoformat()[:19]
    assert row["escalated"] is False

    post("bob", "1002", "bobs-bikes", "It ships today.")

    (row,) = api_as("bob").get(f"{API}/conversations").json()["items"]
    assert row["awaiting_since"] is None


# -- the schema -----------------------------------------------------------------------------


def test_the_schemas_choices_are_the_models():
    assert set(get_args(DisputeStatus)) == set(Dispute.Status.values)
    assert set(get_args(Requested)) == set(Dispute.Request.values)
    assert set(get_args(Outcome)) == set(Dispute.Outcome.values)


def test_the_message_kinds_include_every_dispute_event():
    from order_messages.api.schemas import Kind

    assert set(get_args(Kind)) == set(Message.Kind.values)


def test_the_schema_documents_the_new_fields(api_as):
    schema = api_as("alice").get(f"{API}/openapi.json").json()
    components = schema["components"]["schemas"]
    dispute_in = components["DisputeIn"]["properties"]
    assert "listDisputeOptions" in dispute_in["reason_code"]["description"]
    assert "damaged" in dispute_in["reason_code"]["description"]
    assert dispute_in["requested"]["default"] == "other"
    close = schema["paths"][f"{API}/orders/{{number}}/conversations/{{vendor_key}}/dispute/close"]
    assert close["post"]["operationId"] == "closeDispute"
    assert close["post"]["requestBody"]["required"] is False
    assert {"200", "422", "409", "403"} <= set(close["post"]["responses"])
    operations = {
        operation["operationId"]
        for methods in schema["paths"].values()
        for operation in methods.values()
    }
    assert {"listDisputes", "listDisputeOptions", "openDispute", "closeDispute"} <= operations
