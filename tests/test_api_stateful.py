"""Schemathesis' stateful runs over the API (A1): sequences of calls that follow the
schema's links (list conversations → read messages → post → mark read → open and close a
dispute → list its disputes), as a customer and as a vendor with their API tokens. Every
answer is one the schema documents and none is a server error; afterwards every unread
count equals a recount (SPEC 9, "counters are exact")."""

import json

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections, transaction
from django.test import Client
from hypothesis import HealthCheck, settings

from demo.wsgi import application
from order_messages.actions import create_token
from order_messages.api.links import LINKS
from tests.conftest import assert_counters_exact, fuzz_examples
from tests.test_api_schema import CHECKS  # the same checks as the stateless run


@pytest.fixture
def api_schema(demo, post, settings):
    """The schema as the demo serves it, called in-process through WSGI inside the test's
    transaction (like Django's test client, the connection stays open across requests)."""
    # The sequences are under test here, not the posting limit (tests of their own).
    settings.ORDER_MESSAGES_POST_RATE_LIMIT = None
    post("bob", "1001", "bobs-bikes", "Your helmet ships today.")
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield schemathesis.openapi.from_wsgi("/api/v1/openapi.json", application)
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


def test_the_schema_links_each_conversation_operation_to_the_others(api_schema):
    links = {
        (path, method, status): sorted(response.get("links", {}))
        for path, methods in api_schema.raw_schema["paths"].items()
        for method, operation in methods.items()
        for status, response in operation["responses"].items()
        if response.get("links")
    }
    in_a_conversation = [
        "closeDispute",
        "listDisputes",
        "listMessages",
        "markRead",
        "openDispute",
        "postMessage",
    ]
    assert links[("/api/v1/conversations", "get", "200")] == sorted(
        [*in_a_conversation, "listOrderConversations"]
    )
    conversation = "/api/v1/orders/{number}/conversations/{vendor_key}"
    for path, method, status in [
        ("/api/v1/orders/{number}/conversations", "get", "200"),
        (f"{conversation}/messages", "get", "200"),
        (f"{conversation}/messages", "post", "201"),
        (f"{conversation}/read", "post", "200"),
        (f"{conversation}/dispute", "post", "201"),
        (f"{conversation}/dispute/close", "post", "200"),
        (f"{conversation}/disputes", "get", "200"),
        ("/api/v1/backoffice/conversations", "get", "200"),
    ]:
        assert links[(path, method, status)] == in_a_conversation


def test_the_served_schema_names_each_key_once(db):
    """Links merge into django-ninja's responses: one "200", not 200 and "200" (Swagger UI
    refuses a document with a key twice)."""

    def unique(pairs):
        keys = [key for key, _value in pairs]
        assert len(keys) == len(set(keys)), keys
        return dict(pairs)

    response = Client().get("/api/v1/openapi.json")
    schema = json.loads(response.content, object_pairs_hook=unique)
    messages = schema["paths"]["/api/v1/orders/{number}/conversations/{vendor_key}/messages"]
    assert "links" in messages["post"]["responses"]["201"]
    assert "content" in messages["post"]["responses"]["201"]


@pytest.mark.parametrize("username", ["alice", "bob"])
def test_call_sequences_answer_as_documented_and_keep_counters_exact(api_schema, demo, username):
    _row, token = create_token(user=demo[username], name="schemathesis")
    calls = []

    # The sequences are those the links make; operations no link leads to or from would
    # only thin them out (the stateless run calls those). Revoking the token the run calls
    # with would log the rest of the run out.
    linked = {source for source, _status in LINKS} | {
        target for links in LINKS.values() for target in links
    }
    schema = api_schema.include(operation_id=sorted(linked)).exclude(operation_id="revokeApiToken")

    class Sequences(schema.as_state_machine()):
        """Each scenario starts from the same data (Hypothesis replays scenarios, and a
        replay must meet what the first run met) and ends with a recount."""

        def setup(self):
            # savepoint() is savepoint_create() where Django has that.
            create = getattr(transaction, "savepoint_create", None) or transaction.savepoint
            self.savepoint = create()

        def teardown(self):
            assert_counters_exact()
            transaction.savepoint_rollback(self.savepoint)

        def get_call_kwargs(self, case):
            return {"headers": {"Authorization": f"Bearer {token}"}}

        def validate_response(self, response, case, additional_checks=None, **kwargs):
            calls.append((case.operation.label, response.status_code))
            case.validate_response(response, checks=CHECKS)

    Sequences.run(
        settings=settings(
            max_examples=fuzz_examples(100),
            stateful_step_count=10,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
    )

    # The runs went past the lists into conversations: messages were posted and read,
    # disputes opened (by the customer: vendors may not).
    succeeded = {label for label, status in calls if status < 300}
    conversation = "/api/v1/orders/{number}/conversations/{vendor_key}"
    assert {
        f"GET {conversation}/messages",
        f"POST {conversation}/messages",
        f"POST {conversation}/read",
    } <= succeeded, sorted(set(calls))
    if username == "alice":
        assert f"POST {conversation}/dispute" in succeeded, sorted(set(calls))
