"""Schemathesis over the whole API schema (A1): generated requests, valid and invalid, as a
customer and as a vendor with their API tokens, get no server error and only answers the
schema documents (status code, content type, body)."""

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from demo.wsgi import application
from order_messages.actions import create_token
from order_messages.api import api

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
OPERATIONS = [
    f"{method.upper()} {path}"
    for path, methods in api.get_openapi_schema()["paths"].items()
    for method in methods
]
# Besides random orders (nearly all 404), a conversation both test users may use.
REAL = {"number": "1001", "vendor_key": "bobs-bikes"}


@pytest.fixture
def api_schema(demo, post):
    """The schema as the demo serves it, called in-process through WSGI inside the test's
    transaction. Like Django's test client, keep the connection open across requests."""
    post("bob", "1001", "bobs-bikes", "Your helmet ships today.")
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield schemathesis.openapi.from_wsgi("/api/v1/openapi.json", application)
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


def cases(operation):
    strategies = [operation.as_strategy(mode) for mode in GenerationMode]
    if "{number}" in operation.path:
        strategies.append(operation.as_strategy(path_parameters=REAL))
    return st.one_of(strategies)


@pytest.mark.parametrize("operation_label", OPERATIONS)
@pytest.mark.parametrize("username", ["alice", "bob"])
def test_every_operation_answers_as_documented(api_schema, demo, username, operation_label):
    _row, token = create_token(user=demo[username], name="schemathesis")
    operation = api_schema.find_operation_by_label(operation_label)

    @given(case=cases(operation))
    @settings(
        max_examples=25,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        database=None,
    )
    def answers_as_documented(case):
        case.call_and_validate(headers={"Authorization": f"Bearer {token}"}, checks=CHECKS)

    answers_as_documented()


def test_the_schema_lists_every_operation():
    assert sorted(OPERATIONS) == [
        "DELETE /api/v1/attachments/{attachment_id}",
        "DELETE /api/v1/saved-replies/{reply_id}",
        "GET /api/v1/attachments/{attachment_id}/content",
        "GET /api/v1/attachments/{attachment_id}/thumbnail",
        "GET /api/v1/backoffice/conversations",
        "GET /api/v1/conversations",
        "GET /api/v1/dispute-options",
        "GET /api/v1/me/unread",
        "GET /api/v1/orders/{number}/conversations",
        "GET /api/v1/orders/{number}/conversations/{vendor_key}/disputes",
        "GET /api/v1/orders/{number}/conversations/{vendor_key}/messages",
        "GET /api/v1/saved-replies",
        "POST /api/v1/orders/{number}/conversations/{vendor_key}/attachments",
        "POST /api/v1/orders/{number}/conversations/{vendor_key}/dispute",
        "POST /api/v1/orders/{number}/conversations/{vendor_key}/dispute/close",
        "POST /api/v1/orders/{number}/conversations/{vendor_key}/messages",
        "POST /api/v1/orders/{number}/conversations/{vendor_key}/read",
        "POST /api/v1/saved-replies",
        "PUT /api/v1/saved-replies/{reply_id}",
    ]
