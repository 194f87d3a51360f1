"""The API tokens page (A1): a person makes a token, sees it once, lists and revokes their
tokens; only the token's hash is stored."""

import ast
import hashlib
import importlib
import re
from datetime import timedelta
from pathlib import Path

import pytest
from django.apps import apps
from django.contrib.sessions.models import Session
from django.db import connection, models
from django.test import Client
from django.test.utils import CaptureQueriesContext

from order_messages import actions
from order_messages.api.tokens import user_for_token
from order_messages.models import ApiToken

PAGE = "/messages/tokens/"
UNREAD = "/api/v1/me/unread"


def new_token(response):
    found = re.search(r'data-testid="new-token"', response.content.decode())
    assert found, "the page shows no new token"
    return re.search(r'value="(om_[^"]+)"', response.content.decode()).group(1)


def create(client, name="Phone app"):
    """Make a token through the form and return it, as the page after the redirect shows it."""
    response = client.post(PAGE, {"name": name})
    assert (response.status_code, response["Location"]) == (302, PAGE)
    return new_token(client.get(PAGE))


def bearer(token):
    return {"Authorization": f"Bearer {token}"}


def stored_anywhere(text):
    """Whether the text is in any text column of any table, or in any session."""
    for model in apps.get_models():
        for field in model._meta.get_fields():
            if isinstance(field, models.CharField | models.TextField):
                if model._default_manager.filter(**{f"{field.name}__contains": text}).exists():
                    return f"{model.__name__}.{field.name}"
            elif isinstance(field, models.JSONField):
                for value in model._default_manager.values_list(field.name, flat=True):
                    if text in str(value):
                        return f"{model.__name__}.{field.name}"
    for session in Session.objects.all():
        if text in str(session.get_decoded()):
            return "a session"
    return None


def test_the_page_needs_a_login(demo):
    response = Client().get(PAGE)

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_a_new_token_is_shown_once_and_stored_hashed(demo, client_for):
    alice = client_for("alice")

    token = create(alice)

    assert token.startswith("om_") and len(token) > 40
    row = ApiToken.objects.get(user=demo["alice"])
    assert row.name == "Phone app"
    assert row.digest == hashlib.sha256(token.encode()).hexdigest()
    assert row.prefix == token[:8]
    assert stored_anywhere(token) is None
    page = alice.get(PAGE).content.decode()
    assert token not in page
    assert "Phone app" in page and f"{token[:8]}…" in page and "never used" in page
    assert Client().get(UNREAD, headers=bearer(token)).status_code == 200


def test_a_reload_makes_no_second_token_and_the_token_is_shown_once(demo, client_for):
    alice = client_for("alice")

    response = alice.post(PAGE, {"name": "Phone app"})

    # Post/Redirect/Get: reloading the page that follows asks for it again, not the form.
    assert response.status_code == 302
    assert response["Location"] == PAGE
    shown = alice.get(PAGE)
    token = new_token(shown)
    assert token not in response["Location"] and token not in shown.request["PATH_INFO"]
    again = alice.get(PAGE).content.decode()
    assert 'data-testid="new-token"' not in again and token not in again
    assert "Phone app" in again
    assert ApiToken.objects.filter(user=demo["alice"]).count() == 1
    assert stored_anywhere(token) is None


def test_the_page_is_not_cached(client_for):
    alice = client_for("alice")
    response = alice.post(PAGE, {"name": "Phone app"})

    assert "no-store" in response["Cache-Control"]
    assert "no-store" in alice.get(PAGE)["Cache-Control"]


def test_the_list_shows_only_my_active_tokens(demo, client_for):
    alice, carol = client_for("alice"), client_for("carol")
    create(alice, "Phone app")
    create(alice, "Shop sync")
    create(carol, "Carol's laptop")
    Client().get(UNREAD, headers=bearer(create(alice, "Used one")))

    page = alice.get(PAGE).content.decode()

    assert "Phone app" in page and "Shop sync" in page and "Used one" in page
    assert "Carol" not in page
    assert "last used" in page
    assert page.count(">Revoke</button>") == 3


def test_a_token_needs_a_name(demo, client_for):
    response = client_for("alice").post(PAGE, {"name": "  "})

    assert response.status_code == 422
    assert 'role="alert"' in response.content.decode()
    assert 'data-testid="new-token"' not in response.content.decode()
    assert not ApiToken.objects.exists()


def test_a_refused_name_is_shown_again_with_its_error(demo, client_for):
    name = "Phone app " + "x" * 100

    response = client_for("alice").post(PAGE, {"name": name})

    assert response.status_code == 422
    page = response.content.decode()
    assert f'value="{name}"' in page
    assert 'id="token-name-error" class="om-error" role="alert"' in page
    assert not ApiToken.objects.exists()


def test_the_new_token_has_a_copy_button_and_the_page_links_the_api_docs(client_for):
    alice = client_for("alice")
    alice.post(PAGE, {"name": "Shop sync"})

    page = alice.get(PAGE).content.decode()

    assert re.search(r'<button type="button"[^>]* data-copy="new-token"[^>]*>Copy</button>', page)
    assert 'aria-live="polite"' in page
    assert '<a href="/api/v1/docs">API documentation</a>' in page


def test_revoking_a_token_logs_its_apps_out(demo, client_for):
    alice = client_for("alice")
    token = create(alice, "Old tablet")
    row = ApiToken.objects.get()

    response = alice.post(f"/messages/tokens/{row.pk}/revoke/", follow=True)

    assert response.status_code == 200
    assert "The token has been revoked." in response.content.decode()
    assert "Old tablet" not in response.content.decode()
    row.refresh_from_db()
    assert row.revoked_at is not None
    response = Client().get(UNREAD, headers=bearer(token))
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"


def test_another_user_cannot_revoke_my_token(demo, client_for):
    token = create(client_for("alice"))
    row = ApiToken.objects.get()

    for who in ("carol", "bob", "admin"):
        response = client_for(who).post(f"/messages/tokens/{row.pk}/revoke/")
        assert response.status_code == 404

    row.refresh_from_db()
    assert row.revoked_at is None
    assert Client().get(UNREAD, headers=bearer(token)).status_code == 200


@pytest.mark.parametrize("method", ["get", "put"])
def test_revoking_takes_a_post(demo, client_for, method):
    alice = client_for("alice")
    create(alice)
    row = ApiToken.objects.get()

    response = getattr(alice, method)(f"/messages/tokens/{row.pk}/revoke/")

    assert response.status_code == 405
    row.refresh_from_db()
    assert row.revoked_at is None


def test_the_forms_carry_csrf_tokens_and_labels(client_for):
    alice = client_for("alice")
    without_tokens = alice.get(PAGE).content.decode().count("csrfmiddlewaretoken")
    create(alice)

    page = alice.get(PAGE).content.decode()

    assert page.count("csrfmiddlewaretoken") == without_tokens + 1  # the revoke form
    create_form = r'<form method="post" class="om-form"[^>]*>\s*<input type="hidden" name="csrf'
    assert re.search(create_form, page)
    assert '<label for="id_name">Name</label>' in page
    assert 'aria-label="Revoke the token “Phone app”"' in page


def test_the_tokens_page_in_german(client_for):
    alice = client_for("alice")

    page = alice.get(PAGE, HTTP_ACCEPT_LANGUAGE="de").content.decode()

    assert "<h1>API-Tokens</h1>" in page
    assert ">Token erstellen</button>" in page
    assert "API tokens" not in page and "Create token" not in page


# -- the actions behind the page (actions/tokens.py) ------------------------------------------


def test_create_token_stores_only_the_hash_and_the_shown_prefix(demo):
    row, token = actions.create_token(user=demo["bob"], name="Shop sync")

    assert token.startswith("om_") and len(token) > 40
    stored = ApiToken.objects.get(pk=row.pk)
    assert (stored.user, stored.name, stored.prefix) == (demo["bob"], "Shop sync", token[:8])
    assert stored.digest == hashlib.sha256(token.encode()).hexdigest()
    assert stored.revoked_at is None and stored.last_used_at is None
    assert user_for_token(token) == demo["bob"]
    assert actions.create_token(user=demo["bob"], name="Shop sync")[1] != token


def test_revoke_token_works_once_and_only_for_its_owner(demo):
    row, token = actions.create_token(user=demo["alice"], name="Phone")

    assert actions.revoke_token(user=demo["carol"], token_id=row.pk) is False
    assert user_for_token(token) == demo["alice"]

    assert actions.revoke_token(user=demo["alice"], token_id=row.pk) is True
    assert user_for_token(token) is None
    revoked_at = ApiToken.objects.get(pk=row.pk).revoked_at
    assert revoked_at is not None

    assert actions.revoke_token(user=demo["alice"], token_id=row.pk) is False
    assert ApiToken.objects.get(pk=row.pk).revoked_at == revoked_at  # not moved
    assert actions.revoke_token(user=demo["alice"], token_id=row.pk + 1000) is False


def test_a_tokens_use_is_noted_at_most_once_a_minute(demo):
    row, token = actions.create_token(user=demo["alice"], name="Phone")
    user_for_token(token)
    first = ApiToken.objects.get(pk=row.pk).last_used_at
    assert first is not None

    with CaptureQueriesContext(connection) as captured:
        user_for_token(token)
    assert ApiToken.objects.get(pk=row.pk).last_used_at == first
    assert not [q for q in captured.captured_queries if q["sql"].startswith("UPDATE")]

    ApiToken.objects.filter(pk=row.pk).update(last_used_at=first - timedelta(minutes=1))
    user_for_token(token)
    assert ApiToken.objects.get(pk=row.pk).last_used_at > first - timedelta(minutes=1)


WRITES = {"create", "bulk_create", "get_or_create", "update_or_create", "update", "delete", "save"}


@pytest.mark.parametrize(
    "module",
    [
        "order_messages.views.tokens",
        "order_messages.api.tokens",
        "order_messages.views.backoffice",
        "order_messages.api.backoffice",
    ],
)
def test_the_token_and_back_office_transport_writes_nothing_itself(module):
    """actions/ are the only write paths (issue 13): the tokens page, the token checks and
    the back office's bulk marking call actions; they hold no ORM write of their own."""
    source = Path(importlib.import_module(module).__file__).read_text()
    calls = [
        node.func.attr
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
    ]
    assert not WRITES & set(calls), f"{module} writes: {sorted(WRITES & set(calls))}"
