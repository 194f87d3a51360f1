"""Calling the JSON API as a demo user, for the tests of each area of the API."""

import json

import pytest
from django.test import Client

from order_messages.actions import create_token

API = "/api/v1"


class Caller:
    """A test client that speaks JSON to the API with a person's Bearer token."""

    def __init__(self, client, headers=None):
        self.client, self.headers = client, headers or {}

    def get(self, path, **params):
        return self.client.get(path, params, headers=self.headers)

    def _send(self, method, path, data):
        body = json.dumps(data) if data is not None else ""
        return getattr(self.client, method)(
            path, body, content_type="application/json", headers=self.headers
        )

    def post(self, path, data=None):
        return self._send("post", path, data if data is not None else {})

    def put(self, path, data=None):
        return self._send("put", path, data)

    def patch(self, path, data=None):
        return self._send("patch", path, data)

    def delete(self, path):
        return self.client.delete(path, headers=self.headers)


@pytest.fixture
def api_as(demo):
    """``api_as("bob")``: Bob with a fresh API token; ``api_as("anonymous")``."""

    def make(who):
        if who == "anonymous":
            return Caller(Client())
        _row, token = create_token(user=demo[who], name="test")
        return Caller(Client(), {"Authorization": f"Bearer {token}"})

    return make


def error_of(response, status):
    """The error code of a refusal, after checking its status and the envelope."""
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == {"error"}
    assert {"code", "message"} <= set(body["error"]) <= {"code", "message", "details"}
    assert body["error"]["message"]
    return body["error"]["code"]


def invalid_fields(response):
    """The locations of a 422 validation error's fields, e.g. {"body.payload.url"}."""
    assert error_of(response, 422) == "validation_error"
    return {".".join(d["location"]) for d in response.json()["error"]["details"]}
