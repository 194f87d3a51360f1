"""My API tokens through the API: the tokens page's list, new token and revoke. Only the
token's first characters are ever shown again; someone else's token does not exist."""

import hashlib

import pytest

from order_messages.actions import create_token, revoke_token
from order_messages.models import ApiToken, IdempotentRequest
from tests.api_helpers import API, Caller, error_of, invalid_fields
from tests.test_api_tokens import stored_anywhere

pytest_plugins = ["tests.api_helpers"]

TOKENS = f"{API}/me/tokens"


def test_my_active_tokens_without_their_secret(demo, api_as):
    phone, phone_token = create_token(user=demo["alice"], name="Phone app")
    old, _ = create_token(user=demo["alice"], name="Old sync")
    revoke_token(user=demo["alice"], token_id=old.pk)
    create_token(user=demo["bob"], name="Bob's app")

    response = api_as("alice").get(TOKENS)

    assert response.status_code == 200
    items = response.json()["items"]
    assert [t["name"] for t in items] == ["test", "Phone app"]  # the caller's own is newest
    assert items[1] == {
        "id": phone.pk,
        "name": "Phone app",
        "prefix": phone_token[:8],
        "created_at": items[1]["created_at"],
        "last_used_at": None,
    }
    assert phone_token not in response.content.decode()


def test_tokens_come_in_pages(demo, api_as):
    for n in range(3):
        create_token(user=demo["alice"], name=f"App {n}")
    alice = api_as("alice")

    names, after = [], None
    while True:
        page = alice.get(TOKENS, limit=2, **({"after": after} if after else {})).json()
        names += [t["name"] for t in page["items"]]
        if not (after := page["next_cursor"]):
            break

    assert names == ["test", "App 2", "App 1", "App 0"]


def test_a_new_token_is_shown_once_and_works(demo, api_as):
    response = api_as("alice").client.post(
        TOKENS,
        '{"name": "  Shop sync "}',
        content_type="application/json",
        headers={**api_as("alice").headers, "Idempotency-Key": "once"},
    )

    assert response.status_code == 201
    assert response["Cache-Control"] == "no-store"
    token = response.json()["token"]
    row = ApiToken.objects.get(pk=response.json()["id"])
    assert (row.name, row.user) == ("Shop sync", demo["alice"])
    assert row.digest == hashlib.sha256(token.encode()).hexdigest()
    assert stored_anywhere(token) is None
    assert not IdempotentRequest.objects.exists()
    made = Caller(api_as("anonymous").client, {"Authorization": f"Bearer {token}"})
    assert made.get(f"{API}/me/unread").status_code == 200
    assert token not in api_as("alice").get(TOKENS).content.decode()


def test_revoking_my_token_logs_its_apps_out(demo, api_as):
    row, token = create_token(user=demo["alice"], name="Phone app")
    phone = Caller(api_as("anonymous").client, {"Authorization": f"Bearer {token}"})

    response = api_as("alice").delete(f"{TOKENS}/{row.pk}")

    assert response.status_code == 204
    assert ApiToken.objects.get(pk=row.pk).revoked_at is not None
    assert error_of(phone.get(f"{API}/me/unread"), 401) == "not_authenticated"
    assert error_of(api_as("alice").delete(f"{TOKENS}/{row.pk}"), 404) == "not_found"


def test_someone_elses_token_does_not_exist(demo, api_as):
    bobs, _ = create_token(user=demo["bob"], name="Bob's app")

    response = api_as("alice").delete(f"{TOKENS}/{bobs.pk}")

    assert error_of(response, 404) == "not_found"
    assert ApiToken.objects.get(pk=bobs.pk).revoked_at is None


@pytest.mark.parametrize("name", ["", "   ", "x" * 101])
def test_a_token_needs_a_name(demo, api_as, name):
    alice = api_as("alice")
    before = ApiToken.objects.count()

    response = alice.post(TOKENS, {"name": name})

    assert invalid_fields(response) == {"body.payload.name"}
    assert ApiToken.objects.count() == before


def test_unreadable_names_and_bad_ids_are_refused(demo, api_as):
    alice = api_as("alice")
    before = ApiToken.objects.count()
    assert error_of(alice.post(TOKENS, {"name": "a\x00b"}), 400) == "bad_encoding"
    assert ApiToken.objects.count() == before
    assert invalid_fields(alice.delete(f"{TOKENS}/0")) == {"path.token_id"}
    assert error_of(api_as("anonymous").get(TOKENS), 401) == "not_authenticated"
