"""What the served OpenAPI document declares is what the API answers: each refusal an
operation really gives (no authentication, a session's missing CSRF token, an unknown
item, bad input, a body that is not UTF-8 or too large, too many posts, a conflict, the
database out of reach) is a status the document lists for that operation, its body fits
the declared error schema, and the headers it carries (Retry-After, WWW-Authenticate,
Idempotent-Replayed) are declared there. Driven by the document itself, so an operation
added later is held to it too."""

import json
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import OperationalError
from django.test import Client
from openapi_schema_validator import OAS31Validator

from order_messages.actions import create_token
from order_messages.api import auth

API = "/api/v1"
CONVERSATION = f"{API}/orders/1001/conversations/bobs-bikes"
# Headers whose presence the document must announce wherever the API sets them.
WATCHED = ("Retry-After", "WWW-Authenticate", "Idempotent-Replayed", "Location")
UNKNOWN_ID = 2**62


@pytest.fixture
def document(db):
    response = Client().get(f"{API}/openapi.json")
    assert response.status_code == 200
    return response.json()


def operations(document):
    return [
        (method, path, operation)
        for path, methods in document["paths"].items()
        for method, operation in methods.items()
    ]


def resolve(document, schema: dict) -> dict:
    while "$ref" in schema:
        schema = document["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
    return schema


def parameters(operation, where: str) -> list[dict]:
    return [p for p in operation.get("parameters", []) if p["in"] == where]


def fill(path: str, values) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: str(values(m.group(1))), path)


def body_type(operation) -> str | None:
    return next(iter(operation.get("requestBody", {}).get("content", {})), None)


def minimal(document, schema: dict):
    """The smallest value the schema accepts: only required properties, the first choice."""
    schema = resolve(document, schema)
    if "anyOf" in schema:
        return minimal(document, next(s for s in schema["anyOf"] if s.get("type") != "null"))
    if "enum" in schema:
        return schema["enum"][0]
    kind = schema.get("type")
    if kind == "object":
        properties = schema.get("properties", {})
        return {name: minimal(document, properties[name]) for name in schema.get("required", [])}
    if kind == "array":
        return [minimal(document, schema["items"])] * schema.get("minItems", 0)
    if kind == "string":
        if schema.get("format") == "uri":
            return "https://hooks.example.com/order-messages"
        return "x" * max(schema.get("minLength", 1), 1)
    if kind in ("integer", "number"):
        return schema.get("minimum", 1)
    if kind == "boolean":
        return False
    return None


def request(client, method, path, operation, document, *, body=..., headers=None):
    """Call an operation; with a JSON body its smallest valid one unless ``body`` is given
    (bytes are sent as they are)."""
    kind = body_type(operation)
    headers = headers or {}
    if kind == "multipart/form-data":
        if body is ...:
            body = {"file": SimpleUploadedFile("receipt.pdf", b"%PDF-1.4\n%%EOF\n")}
        return getattr(client, method)(path, body, headers=headers)
    if kind is None:
        return getattr(client, method)(path, headers=headers)
    if body is ...:
        schema = operation["requestBody"]["content"][kind]["schema"]
        body = minimal(document, schema)
    data = body if isinstance(body, bytes | str) else json.dumps(body)
    return getattr(client, method)(path, data, content_type=kind, headers=headers)


def assert_as_declared(document, operation, response, status: int):
    """The answer has this status, which the operation declares, in its declared shape and
    with its declared headers; and every watched header it carries is declared."""
    name = operation["operationId"]
    assert response.status_code == status, (name, response.status_code, response.content[:300])
    declared = operation["responses"].get(str(status))
    assert declared is not None, f"{name} answers {status}, which it does not declare"
    schema = declared["content"]["application/json"]["schema"]
    OAS31Validator({**schema, "components": document["components"]}).validate(response.json())
    headers = declared.get("headers", {})
    for header, spec in headers.items():
        if spec.get("required"):
            assert header in response.headers, f"{name} {status} lacks {header}"
        if header in response.headers and spec["schema"].get("type") == "integer":
            assert response.headers[header].isdigit(), (name, header)
    for header in WATCHED:
        if header in response.headers:
            assert header in headers, f"{name} {status} sends {header} undeclared"


@pytest.fixture
def token_for(demo):
    def make(username):
        _row, token = create_token(user=demo[username], name="declared")
        return {"Authorization": f"Bearer {token}"}

    return make


# -- refusals every operation can give -----------------------------------------------------------


def test_without_authentication_every_operation_is_401_as_declared(document):
    for method, path, operation in operations(document):
        response = request(Client(), method, fill(path, lambda _: 1), operation, document)

        assert_as_declared(document, operation, response, 401)
        assert response.headers["WWW-Authenticate"] == "Bearer"


def test_a_session_write_without_its_csrf_token_is_403_as_declared(document, demo):
    client = Client(enforce_csrf_checks=True)
    client.force_login(demo["admin"])
    writes = [op for op in operations(document) if op[0] in ("post", "put", "patch", "delete")]
    assert writes
    for method, path, operation in writes:
        response = request(client, method, fill(path, lambda _: 1), operation, document)

        assert_as_declared(document, operation, response, 403)


def test_the_database_out_of_reach_is_503_with_retry_after_as_declared(
    document, token_for, monkeypatch
):
    headers = token_for("alice")

    def unreachable(token):
        raise OperationalError("the server closed the connection unexpectedly")

    monkeypatch.setattr(auth, "user_for_token", unreachable)
    for method, path, operation in operations(document):
        response = request(
            Client(), method, fill(path, lambda _: 1), operation, document, headers=headers
        )

        assert_as_declared(document, operation, response, 503)
        assert response.json()["error"]["code"] == "unavailable"
        assert int(response.headers["Retry-After"]) > 0


# -- refusals that follow from what is sent ----------------------------------------------------


def test_an_unknown_order_or_item_is_404_as_declared(document, token_for):
    headers = token_for("admin")  # store staff: past every check of who may ask
    unknown = {"number": "no-such-order", "vendor_key": "no-such-vendor"}
    with_path = [op for op in operations(document) if parameters(op[2], "path")]
    assert with_path
    for method, path, operation in with_path:
        url = fill(path, lambda name: unknown.get(name, UNKNOWN_ID))
        response = request(Client(), method, url, operation, document, headers=headers)

        assert_as_declared(document, operation, response, 404)
        assert response.json()["error"]["code"] == "not_found"


def with_value(path: str, name: str, value) -> str:
    return fill(path, lambda other: value if other == name else 1)


def bad_input(document, path, operation) -> tuple[str, dict] | None:
    """A URL and request arguments that break the operation's schema, or None when
    nothing it takes can be wrong."""
    kind = body_type(operation)
    fine = {"number": "1001", "vendor_key": "bobs-bikes"}
    url = fill(path, lambda name: fine.get(name, 1))
    if kind == "application/json":
        return url, {"body": "{not json"}
    if kind == "multipart/form-data":
        return url, {"body": {}}  # no file
    for parameter in parameters(operation, "path"):
        schema = resolve(document, parameter["schema"])
        if "minimum" in schema:
            return with_value(path, parameter["name"], schema["minimum"] - 1), {}
        if "maxLength" in schema:
            return with_value(path, parameter["name"], "x" * (schema["maxLength"] + 1)), {}
    for parameter in parameters(operation, "query"):
        schema = parameter["schema"]
        choices = [s for s in schema.get("anyOf", [schema]) if s.get("type") != "null"]
        for choice in choices:
            if "minimum" in choice:
                return f"{url}?{parameter['name']}={choice['minimum'] - 1}", {}
            if "enum" in choice:
                return f"{url}?{parameter['name']}=no-such-choice", {}
            if "maxLength" in choice:
                return f"{url}?{parameter['name']}={'x' * (choice['maxLength'] + 1)}", {}
    return None


def test_bad_input_is_422_as_declared_and_only_where_input_is_taken(document, token_for):
    headers = token_for("admin")
    provoked = set()
    for method, path, operation in operations(document):
        bad = bad_input(document, path, operation)
        if bad is None:
            assert "422" not in operation["responses"], operation["operationId"]
            continue
        url, extra = bad
        response = request(Client(), method, url, operation, document, headers=headers, **extra)

        assert_as_declared(document, operation, response, 422)
        assert response.json()["error"]["code"] == "validation_error"
        assert response.json()["error"]["details"]
        provoked.add(operation["operationId"])
    assert {"postMessage", "listMessages", "uploadAttachment", "listConversations"} <= provoked


def json_bodied(document):
    return [op for op in operations(document) if body_type(op[2]) == "application/json"]


def test_a_body_that_is_not_utf8_is_400_as_declared(document, token_for):
    headers = token_for("admin")
    assert json_bodied(document)
    for method, path, operation in json_bodied(document):
        url = fill(path, lambda name: {"number": "1001", "vendor_key": "bobs-bikes"}.get(name, 1))
        response = request(
            Client(), method, url, operation, document, body=b'{"body": "\xff"}', headers=headers
        )

        assert_as_declared(document, operation, response, 400)
        assert response.json()["error"]["code"] == "bad_encoding"


def test_a_body_over_the_limit_is_413_as_declared(document, token_for, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    headers = token_for("admin")
    for method, path, operation in json_bodied(document):
        url = fill(path, lambda name: {"number": "1001", "vendor_key": "bobs-bikes"}.get(name, 1))
        body = json.dumps({"body": "x" * 2000})
        response = request(Client(), method, url, operation, document, body=body, headers=headers)

        assert_as_declared(document, operation, response, 413)
        assert response.json()["error"]["code"] == "too_large"


# -- refusals of particular operations ---------------------------------------------------------


def operation_named(document, operation_id):
    return next(
        (method, path, op)
        for method, path, op in operations(document)
        if op["operationId"] == operation_id
    )


def test_posting_too_often_is_429_with_retry_after_as_declared(
    document, no_conversations, token_for, settings, post
):
    # Nobody has written lately (the demo's latest messages may be seconds old); the seller
    # has, so a dispute may follow.
    post("bob", "1001", "bobs-bikes", "Your helmet ships on Friday.")
    settings.ORDER_MESSAGES_POST_RATE_LIMIT = (1, 60)
    headers = token_for("alice")
    _method, _path, post = operation_named(document, "postMessage")
    _method, _path, dispute = operation_named(document, "openDispute")
    messages = f"{CONVERSATION}/messages"

    first = request(Client(), "post", messages, post, document, headers=headers)
    too_soon = request(Client(), "post", messages, post, document, headers=headers)
    opening = request(
        Client(),
        "post",
        f"{CONVERSATION}/dispute",
        dispute,
        document,
        body={"reason": "It never came."},
        headers=headers,
    )

    assert first.status_code == 201
    for operation, response in [(post, too_soon), (dispute, opening)]:
        assert_as_declared(document, operation, response, 429)
        assert response.json()["error"]["code"] == "throttled"
        assert 0 < int(response.headers["Retry-After"]) <= 60


def test_a_dispute_changed_too_often_is_429_and_one_already_open_409_as_declared(
    document, no_conversations, token_for, settings, post
):
    post("bob", "1001", "bobs-bikes", "Your helmet ships on Friday.")  # a dispute may follow
    settings.ORDER_MESSAGES_DISPUTE_RATE_LIMIT = (1, 3600)
    settings.ORDER_MESSAGES_POST_RATE_LIMIT = None  # the dispute's own limit is under test
    headers = token_for("alice")
    _method, _path, opening = operation_named(document, "openDispute")
    _method, _path, closing = operation_named(document, "closeDispute")
    reason = {"reason": "It came broken."}
    opened = request(
        Client(),
        "post",
        f"{CONVERSATION}/dispute",
        opening,
        document,
        body=reason,
        headers=headers,
    )
    assert opened.status_code == 201

    again = request(
        Client(),
        "post",
        f"{CONVERSATION}/dispute",
        opening,
        document,
        body=reason,
        headers=headers,
    )
    closed = request(
        Client(),
        "post",
        f"{CONVERSATION}/dispute/close",
        closing,
        document,
        body={},
        headers=headers,
    )

    assert_as_declared(document, opening, again, 409)
    assert again.json()["error"]["code"] == "dispute_open"
    assert_as_declared(document, closing, closed, 429)
    assert closed.json()["error"]["code"] == "throttled"
    assert int(closed.headers["Retry-After"]) > 0


def test_a_replayed_post_says_so_in_a_declared_header(document, no_conversations, token_for):
    headers = {**token_for("alice"), "Idempotency-Key": "b6a9e0c4-replay"}
    _method, _path, post = operation_named(document, "postMessage")
    assert any(p["name"] == "Idempotency-Key" for p in parameters(post, "header"))
    body = {"body": "Is it still in stock?"}

    first = request(
        Client(), "post", f"{CONVERSATION}/messages", post, document, body=body, headers=headers
    )
    again = request(
        Client(), "post", f"{CONVERSATION}/messages", post, document, body=body, headers=headers
    )

    assert first.status_code == again.status_code == 201
    assert "Idempotent-Replayed" not in first.headers
    assert again.headers["Idempotent-Replayed"] == "true"
    declared = post["responses"]["201"]["headers"]["Idempotent-Replayed"]
    assert again.headers["Idempotent-Replayed"] in declared["schema"]["enum"]
    assert again.json() == first.json()


def test_every_declared_retry_after_and_authentication_header_is_where_the_handlers_set_it(
    document,
):
    for _method, _path, operation in operations(document):
        for status, response in operation["responses"].items():
            headers = response.get("headers", {})
            assert ("Retry-After" in headers) == (status in ("429", "503")), (
                operation["operationId"],
                status,
            )
            assert ("WWW-Authenticate" in headers) == (status == "401")
        assert {"401", "503"} <= set(operation["responses"]), operation["operationId"]
