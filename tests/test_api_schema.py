"""Schemathesis over the whole API schema (A1): generated requests, valid and invalid, as a
customer and as a vendor with their API tokens, get no server error and only answers the
schema documents (status code, content type, body)."""

import re

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openapi_spec_validator import validate
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
        "DELETE /api/v1/me/muted-conversations/{conversation_id}",
        "DELETE /api/v1/me/tokens/{token_id}",
        "DELETE /api/v1/saved-replies/{reply_id}",
        "DELETE /api/v1/webhook-endpoints/{endpoint_id}",
        "GET /api/v1/attachments/{attachment_id}/content",
        "GET /api/v1/attachments/{attachment_id}/thumbnail",
        "GET /api/v1/backoffice/conversations",
        "GET /api/v1/backoffice/dashboard",
        "GET /api/v1/backoffice/dashboard/vendors/{vendor_key}",
        "GET /api/v1/backoffice/orders",
        "GET /api/v1/conversations",
        "GET /api/v1/dispute-options",
        "GET /api/v1/me/email-preferences",
        "GET /api/v1/me/muted-conversations",
        "GET /api/v1/me/tokens",
        "GET /api/v1/me/unread",
        "GET /api/v1/orders/{number}/conversations",
        "GET /api/v1/orders/{number}/conversations/{vendor_key}/disputes",
        "GET /api/v1/orders/{number}/conversations/{vendor_key}/messages",
        "GET /api/v1/saved-replies",
        "GET /api/v1/webhook-endpoints",
        "GET /api/v1/webhook-endpoints/{endpoint_id}",
        "GET /api/v1/webhook-endpoints/{endpoint_id}/deliveries",
        "PATCH /api/v1/webhook-endpoints/{endpoint_id}",
        "POST /api/v1/backoffice/conversations/mark",
        "POST /api/v1/backoffice/conversations/{conversation_id}/unread",
        "POST /api/v1/backoffice/dashboard/seen",
        "POST /api/v1/me/tokens",
        "POST /api/v1/orders/{number}/conversations/{vendor_key}/attachments",
        "POST /api/v1/orders/{number}/conversations/{vendor_key}/dispute",
        "POST /api/v1/orders/{number}/conversations/{vendor_key}/dispute/close",
        "POST /api/v1/orders/{number}/conversations/{vendor_key}/messages",
        "POST /api/v1/orders/{number}/conversations/{vendor_key}/read",
        "POST /api/v1/saved-replies",
        "POST /api/v1/webhook-endpoints",
        "POST /api/v1/webhook-endpoints/{endpoint_id}/redeliver",
        "POST /api/v1/webhook-endpoints/{endpoint_id}/rotate-secret",
        "PUT /api/v1/me/email-preferences",
        "PUT /api/v1/saved-replies/{reply_id}",
    ]


# -- the document itself --------------------------------------------------------------------

# Renaming one breaks every client generated from the document: a deliberate act, here.
OPERATION_IDS = {
    "closeDispute",
    "createApiToken",
    "createSavedReply",
    "createWebhookEndpoint",
    "deleteSavedReply",
    "deleteWebhookEndpoint",
    "discardAttachment",
    "getAttachmentContent",
    "getAttachmentThumbnail",
    "getDashboard",
    "getEmailPreferences",
    "getUnread",
    "getVendorFigures",
    "getWebhookEndpoint",
    "listApiTokens",
    "listBackofficeConversations",
    "listBackofficeOrders",
    "listConversations",
    "listDisputeOptions",
    "listDisputes",
    "listMessages",
    "listMutedConversations",
    "listOrderConversations",
    "listSavedReplies",
    "listWebhookDeliveries",
    "listWebhookEndpoints",
    "markBackofficeConversationUnread",
    "markBackofficeConversations",
    "markDashboardSeen",
    "markRead",
    "openDispute",
    "postMessage",
    "redeliverWebhooks",
    "revokeApiToken",
    "rotateWebhookSecret",
    "unmuteConversation",
    "updateEmailPreferences",
    "updateSavedReply",
    "updateWebhookEndpoint",
    "uploadAttachment",
}
CAMEL_CASE = re.compile(r"^[a-z]+(?:[A-Z][a-z0-9]*)*$")
# What django-ninja and pydantic name a model they make up (FileParams, Input_abc,
# MultiPartBodyParams, Body_x): the document names every schema itself.
MADE_UP = re.compile(r"_|Params$|^(?:Input|Output|Body|Model)$")


@pytest.fixture
def served(db):
    response = Client().get("/api/v1/openapi.json")
    assert response.status_code == 200
    return response.json()


def served_operations(document):
    return [
        (method, path, operation)
        for path, methods in document["paths"].items()
        for method, operation in methods.items()
    ]


def test_the_served_document_is_valid_openapi(served):
    assert served["openapi"].startswith("3.1")
    validate(served)  # raises on any error, with its place in the document


def test_parameters_give_single_examples_as_a_parameter_takes_them(served):
    for _method, _path, operation in served_operations(served):
        for parameter in operation.get("parameters", []):
            assert not isinstance(parameter.get("examples"), list), parameter["name"]
    number = next(
        p
        for p in served["paths"]["/api/v1/orders/{number}/conversations"]["get"]["parameters"]
        if p["name"] == "number"
    )
    assert number["example"] == "1001"


def test_the_operation_ids_are_the_published_ones(served):
    ids = [operation["operationId"] for _m, _p, operation in served_operations(served)]
    assert len(ids) == len(set(ids))
    assert set(ids) == OPERATION_IDS


def test_every_operation_reads_well_in_generated_code(served):
    tags = {tag for _m, _p, operation in served_operations(served) for tag in operation["tags"]}
    for method, path, operation in served_operations(served):
        where = f"{method.upper()} {path}"
        assert CAMEL_CASE.match(operation["operationId"]), where
        assert operation.get("summary", "").strip(), where
        assert operation.get("description", "").strip(), where
        assert len(operation["tags"]) == 1, where
    # One spelling per tag: no "Backoffice" beside "Back office".
    assert len({tag.lower().replace(" ", "") for tag in tags}) == len(tags)


def test_every_schema_has_a_name_of_its_own(served):
    names = list(served["components"]["schemas"])
    assert len({name.lower() for name in names}) == len(names)
    for name in names:
        assert re.match(r"^[A-Z][A-Za-z0-9]+$", name) and not MADE_UP.search(name), name
    # Bodies the document spells out in place (multipart) are named too.
    for method, path, operation in served_operations(served):
        for content in operation.get("requestBody", {}).get("content", {}).values():
            title = content["schema"].get("title")
            assert title is None or not MADE_UP.search(title), (method, path, title)
    assert (
        served["paths"]["/api/v1/orders/{number}/conversations/{vendor_key}/attachments"]["post"][
            "requestBody"
        ]["content"]["multipart/form-data"]["schema"]["title"]
        == "AttachmentUpload"
    )
