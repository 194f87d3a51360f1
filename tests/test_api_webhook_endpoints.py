"""The store's webhook endpoints through the API (A3): store staff list, add, change,
pause, rotate the secret of and remove them, read their delivery log and deliver failed
webhooks again; with the admin's checks (no destination on the store's own network), and
nobody else may."""

import socket

import pytest

from order_messages.models import WebhookDelivery, WebhookEndpoint
from order_messages.webhooks import destinations, signing
from tests.api_helpers import API, error_of, invalid_fields
from tests.test_webhook_destinations import REFUSED_URLS

pytest_plugins = ["tests.api_helpers"]

ENDPOINTS = f"{API}/webhook-endpoints"
PUBLIC = "93.184.215.14"


@pytest.fixture(autouse=True)
def fake_dns(monkeypatch, settings):
    """Names resolve through this table, never through the network; no network is
    allowed besides the public ones (the demo allows its own receiver on 127.0.0.1)."""
    settings.ORDER_MESSAGES_WEBHOOK_ALLOWED_NETWORKS = ()
    table = {
        "localhost": ["127.0.0.1", "::1"],
        "hooks.shop.test": [PUBLIC],
        "internal.shop.test": ["10.1.2.3"],
    }

    def resolve(host, port):
        try:
            return list(table[host])
        except KeyError:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known") from None

    monkeypatch.setattr(destinations, "resolve", resolve)


@pytest.fixture
def endpoint(db):
    return WebhookEndpoint.objects.create(
        url="https://hooks.shop.test/old", secret=signing.new_secret(), events=["message.posted"]
    )


def test_staff_add_an_endpoint_and_see_its_secret_once(demo, api_as):
    admin = api_as("admin")

    response = admin.post(
        ENDPOINTS,
        {"url": "hooks.shop.test/in", "description": "Shop", "events": ["dispute.opened"]},
    )

    assert response.status_code == 201
    made = response.json()
    stored = WebhookEndpoint.objects.get(pk=made["id"])
    assert stored.url == "https://hooks.shop.test/in"  # https, as the admin assumes
    assert (stored.events, stored.active, stored.description) == (["dispute.opened"], True, "Shop")
    assert made["secret"] == stored.secret
    signing.check_secret(stored.secret)
    listed = admin.get(ENDPOINTS).json()["items"]
    assert [e["id"] for e in listed] == [stored.pk]
    assert "secret" not in listed[0] and listed[0]["secret_hint"] == stored.secret[-4:]
    assert stored.secret not in admin.get(f"{ENDPOINTS}/{stored.pk}").content.decode()


def test_a_chosen_secret_is_kept_and_a_malformed_one_refused(demo, api_as):
    secret = signing.new_secret()
    admin = api_as("admin")

    made = admin.post(ENDPOINTS, {"url": "https://hooks.shop.test/a", "secret": secret})
    refused = admin.post(ENDPOINTS, {"url": "https://hooks.shop.test/b", "secret": "hunter2"})

    assert WebhookEndpoint.objects.get(pk=made.json()["id"]).secret == secret
    assert invalid_fields(refused) == {"body.payload.secret"}
    assert WebhookEndpoint.objects.count() == 1


@pytest.mark.parametrize("url", REFUSED_URLS)
def test_a_destination_on_the_stores_own_network_is_refused(demo, api_as, url):
    response = api_as("admin").post(ENDPOINTS, {"url": url})

    assert invalid_fields(response) == {"body.payload.url"}
    assert "not allowed" in response.json()["error"]["details"][0]["message"]
    assert not WebhookEndpoint.objects.exists()


@pytest.mark.parametrize(
    "body, field",
    [
        ({"url": "ftp://hooks.shop.test/"}, "body.payload.url"),
        ({"url": "https://hooks.shop.test/", "events": ["order.paid"]}, "body.payload.events.0"),
        ({"description": "no url"}, "body.payload.url"),
        ({"url": "https://hooks.shop.test/", "description": "x" * 201}, "body.payload.description"),
    ],
)
def test_bad_input_is_a_validation_error(demo, api_as, body, field):
    response = api_as("admin").post(ENDPOINTS, body)

    assert invalid_fields(response) == {field}
    assert not WebhookEndpoint.objects.exists()


def test_staff_change_and_pause_an_endpoint(demo, api_as, endpoint):
    url = f"{ENDPOINTS}/{endpoint.pk}"

    response = api_as("admin").patch(url, {"url": "https://hooks.shop.test/new", "active": False})

    assert response.status_code == 200
    endpoint.refresh_from_db()
    assert (endpoint.url, endpoint.active) == ("https://hooks.shop.test/new", False)
    assert endpoint.events == ["message.posted"]  # left out: as it was
    api_as("admin").patch(url, {"events": []})
    endpoint.refresh_from_db()
    assert endpoint.events == [] and endpoint.url == "https://hooks.shop.test/new"


def test_a_change_gets_the_same_checks(demo, api_as, endpoint):
    response = api_as("admin").patch(
        f"{ENDPOINTS}/{endpoint.pk}", {"url": "http://internal.shop.test/hooks"}
    )

    assert invalid_fields(response) == {"body.payload.url"}
    endpoint.refresh_from_db()
    assert endpoint.url == "https://hooks.shop.test/old"


def test_rotating_the_secret(demo, api_as, endpoint):
    old = endpoint.secret

    response = api_as("admin").post(f"{ENDPOINTS}/{endpoint.pk}/rotate-secret")

    assert response.status_code == 200
    endpoint.refresh_from_db()
    assert endpoint.secret != old and response.json()["secret"] == endpoint.secret


def test_removing_an_endpoint(demo, api_as, endpoint):
    response = api_as("admin").delete(f"{ENDPOINTS}/{endpoint.pk}")

    assert response.status_code == 204
    assert not WebhookEndpoint.objects.exists()
    assert error_of(api_as("admin").get(f"{ENDPOINTS}/{endpoint.pk}"), 404) == "not_found"


def test_the_delivery_log_and_delivering_failed_ones_again(
    no_conversations, api_as, endpoint, post
):
    post("alice", "1002", "bobs-bikes", "Hello")
    post("alice", "1002", "bobs-bikes", "Again")
    WebhookDelivery.objects.update(status=WebhookDelivery.Status.FAILED, attempts=8)
    failed, other = WebhookDelivery.objects.order_by("pk")
    admin = api_as("admin")

    log = admin.get(f"{ENDPOINTS}/{endpoint.pk}/deliveries", status="failed").json()
    response = admin.post(f"{ENDPOINTS}/{endpoint.pk}/redeliver", {"ids": [failed.pk]})

    assert [d["id"] for d in log["items"]] == [other.pk, failed.pk]
    assert log["items"][0]["payload"]["type"] == "message.posted"
    assert response.json() == {"resent": 1, "inactive": 0}
    failed.refresh_from_db(), other.refresh_from_db()
    assert failed.status == WebhookDelivery.Status.PENDING
    assert other.status == WebhookDelivery.Status.FAILED


@pytest.mark.parametrize("who", ["bob", "alice"])
def test_nobody_but_store_staff_manages_webhooks(demo, api_as, endpoint, who):
    caller = api_as(who)
    one = f"{ENDPOINTS}/{endpoint.pk}"

    refusals = [
        caller.get(ENDPOINTS),
        caller.post(ENDPOINTS, {"url": "https://hooks.shop.test/mine"}),
        caller.get(one),
        caller.patch(one, {"active": False}),
        caller.post(f"{one}/rotate-secret"),
        caller.delete(one),
        caller.get(f"{one}/deliveries"),
        caller.post(f"{one}/redeliver", {"ids": [1]}),
    ]

    assert [error_of(r, 403) for r in refusals] == ["forbidden"] * len(refusals)
    endpoint.refresh_from_db()
    assert endpoint.active and WebhookEndpoint.objects.count() == 1
    assert error_of(api_as("anonymous").get(ENDPOINTS), 401) == "not_authenticated"


def test_unreadable_text_is_refused(demo, api_as):
    response = api_as("admin").post(
        ENDPOINTS, {"url": "https://hooks.shop.test/in", "description": "Shop \ud800"}
    )

    assert invalid_fields(response) == {"body.payload.description"}
    assert not WebhookEndpoint.objects.exists()
    nul = api_as("admin").post(ENDPOINTS, {"url": "https://hooks.shop.test/in\x00"})
    assert invalid_fields(nul) == {"body.payload.url"}
