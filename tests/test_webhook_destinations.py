"""Outgoing webhooks reach no address on the store's own network (A3): loopback, private,
link-local, multicast, unspecified and reserved destinations are refused when staff save
an endpoint and again at delivery, against the very address the worker connects to, before
any packet leaves. Only ORDER_MESSAGES_WEBHOOK_ALLOWED_NETWORKS opens an exception.

No test here sends anything beyond 127.0.0.1: other addresses are refused before a
connection is tried, and host names are resolved by a stand-in for DNS."""

import socket
from types import SimpleNamespace

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.test import Client

from order_messages.models import WebhookDelivery, WebhookEndpoint
from order_messages.webhooks import delivery, destinations
from order_messages.webhooks.delivery import deliver_due
from tests.test_webhooks import SECRET, Receiver, only

pytestmark = pytest.mark.usefixtures("no_conversations")

ENDPOINTS = "/admin/order_messages/webhookendpoint/"
Status = WebhookDelivery.Status
PUBLIC = "93.184.215.14"  # a public address; no test connects to it

REFUSED_URLS = [
    "http://127.0.0.1:8000/hooks",
    "http://127.1.2.3/hooks",
    "http://[::1]:6379/",
    "http://localhost:22/",
    "http://10.0.0.5/hooks",
    "http://172.16.0.1/hooks",
    "http://192.168.1.1/hooks",
    "http://169.254.169.254/latest/meta-data/",
    "http://[fe80::1]/hooks",
    "http://[fd00::1]/hooks",
    "http://0.0.0.0:8000/",
    "http://[::]/",
    "http://224.0.0.1/",
    "http://240.0.0.1/",
    "http://100.64.0.1/",  # carrier-grade NAT: not public either
    "http://[::ffff:127.0.0.1]:6379/",  # IPv4-mapped IPv6
    "http://[::ffff:10.0.0.1]/",
    "http://internal.shop.test/hooks",  # a name that resolves to a private address
]


@pytest.fixture(autouse=True)
def fake_dns(monkeypatch):
    """Host names resolve through this table, never through the network."""
    table = {
        "localhost": ["127.0.0.1", "::1"],
        "internal.shop.test": ["10.1.2.3"],
        "hooks.shop.test": [PUBLIC],
        "mixed.shop.test": [PUBLIC, "192.168.0.10"],
    }

    def resolve(host, port):
        try:
            return list(table[host])
        except KeyError:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known") from None

    monkeypatch.setattr(destinations, "resolve", resolve)
    return table


@pytest.fixture
def no_exceptions(settings):
    settings.ORDER_MESSAGES_WEBHOOK_ALLOWED_NETWORKS = ()


@pytest.fixture(scope="module")
def receiver_server():
    server = Receiver()
    yield server
    server.stop()


@pytest.fixture
def receiver(receiver_server):
    receiver_server.reset()
    yield receiver_server
    receiver_server.reset()


@pytest.fixture
def manager(demo):
    user = get_user_model().objects.create_user(
        "sam", "sam@marketplace.example", "demo", is_staff=True
    )
    user.user_permissions.add(Permission.objects.get(codename="manage_conversations"))
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def never_connect(monkeypatch):
    """Fails the test if the worker opens any connection at all."""
    attempts = []

    def refuse(address, *args, **kwargs):
        attempts.append(address)
        raise AssertionError(f"connected to {address}")

    monkeypatch.setattr(socket, "create_connection", refuse)
    return attempts


# -- when staff save an endpoint ---------------------------------------------------------------


@pytest.mark.parametrize("url", REFUSED_URLS)
def test_staff_cannot_register_a_private_destination(manager, no_exceptions, url):
    response = manager.post(
        f"{ENDPOINTS}add/", {"url": url, "events": [], "secret": "", "active": "on"}
    )

    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert "url" in errors, errors
    assert "not allowed" in " ".join(errors["url"])
    assert not WebhookEndpoint.objects.exists()


def test_a_public_destination_is_accepted(manager, no_exceptions):
    response = manager.post(
        f"{ENDPOINTS}add/",
        {"url": "https://hooks.shop.test/in", "events": [], "secret": "", "active": "on"},
    )

    assert response.status_code == 302, response.context["adminform"].form.errors
    assert WebhookEndpoint.objects.get().url == "https://hooks.shop.test/in"


def test_the_allow_list_opens_an_internal_receiver_and_nothing_else(manager, settings):
    settings.ORDER_MESSAGES_WEBHOOK_ALLOWED_NETWORKS = ["10.1.0.0/16"]
    form = {"events": [], "secret": "", "active": "on"}

    allowed = manager.post(f"{ENDPOINTS}add/", {**form, "url": "http://internal.shop.test/h"})
    refused = manager.post(f"{ENDPOINTS}add/", {**form, "url": "http://10.2.0.1/h"})

    assert allowed.status_code == 302
    assert refused.status_code == 200
    assert WebhookEndpoint.objects.get().url == "http://internal.shop.test/h"


# -- at delivery ---------------------------------------------------------------------------------


@pytest.mark.parametrize("url", REFUSED_URLS)
def test_delivery_to_a_private_destination_fails_without_connecting(
    post, no_exceptions, never_connect, url
):
    WebhookEndpoint.objects.create(url=url, secret=SECRET)  # e.g. saved before this check
    post("alice", "1002", "bobs-bikes", "Hello")

    report = deliver_due()

    assert (report.failed, report.delivered, report.retrying) == (1, 0, 0)
    assert never_connect == []
    row = WebhookDelivery.objects.get()
    assert row.status == Status.FAILED and row.response_status is None
    assert row.last_error.startswith("Destination not allowed:"), row.last_error


def test_a_loopback_receiver_gets_nothing_without_the_allow_list(post, receiver, no_exceptions):
    WebhookEndpoint.objects.create(url=f"{receiver.url}/hooks", secret=SECRET)
    post("alice", "1002", "bobs-bikes", "Hello")

    report = deliver_due()

    assert report.failed == 1
    assert receiver.received == []
    assert WebhookDelivery.objects.get().last_error == "Destination not allowed: loopback address."


def test_one_private_address_among_the_answers_refuses_the_name(post, no_exceptions, never_connect):
    WebhookEndpoint.objects.create(url="https://mixed.shop.test/hooks", secret=SECRET)
    post("alice", "1002", "bobs-bikes", "Hello")

    report = deliver_due()

    assert report.failed == 1 and never_connect == []
    assert "private address" in WebhookDelivery.objects.get().last_error


def test_a_name_that_rebinds_to_a_private_address_after_saving_is_refused(
    manager, post, no_exceptions, never_connect, fake_dns
):
    manager.post(
        f"{ENDPOINTS}add/",
        {"url": "https://hooks.shop.test/in", "events": [], "secret": "", "active": "on"},
    )
    assert WebhookEndpoint.objects.exists()  # public when saved…
    fake_dns["hooks.shop.test"] = ["127.0.0.1"]  # …loopback when the worker asks
    post("alice", "1002", "bobs-bikes", "Hello")

    report = deliver_due()

    assert report.failed == 1 and never_connect == []
    assert WebhookDelivery.objects.get().last_error == "Destination not allowed: loopback address."


def test_the_worker_connects_to_the_address_it_checked_and_names_the_host(
    post, receiver, settings, fake_dns, monkeypatch
):
    """The name is resolved once; the connection goes to that checked address (so a second
    DNS answer cannot differ), while the request still names the host."""
    settings.ORDER_MESSAGES_WEBHOOK_ALLOWED_NETWORKS = ["127.0.0.1"]
    port = receiver.url.rsplit(":", 1)[1]
    lookups = []
    answers = iter([["127.0.0.1"], ["10.9.9.9"]])  # a second lookup would be refused

    def resolve(host, port):
        lookups.append(host)
        return next(answers)

    monkeypatch.setattr(destinations, "resolve", resolve)
    WebhookEndpoint.objects.create(url=f"http://receiver.shop.test:{port}/hooks", secret=SECRET)
    post("alice", "1002", "bobs-bikes", "Hello")

    report = deliver_due()

    assert report.delivered == 1, WebhookDelivery.objects.get().last_error
    assert lookups == ["receiver.shop.test"]
    request = only(receiver.received)
    assert request.headers["Host"] == f"receiver.shop.test:{port}"


def test_the_allow_list_lets_the_delivery_through(post, receiver, settings):
    settings.ORDER_MESSAGES_WEBHOOK_ALLOWED_NETWORKS = ["127.0.0.0/8", "::1"]
    WebhookEndpoint.objects.create(url=f"{receiver.url}/hooks", secret=SECRET)
    post("alice", "1002", "bobs-bikes", "Hello")

    assert deliver_due().delivered == 1
    assert len(receiver.received) == 1


def test_an_unknown_name_is_retried_later(post, no_exceptions, never_connect):
    WebhookEndpoint.objects.create(url="https://nowhere.shop.test/hooks", secret=SECRET)
    post("alice", "1002", "bobs-bikes", "Hello")

    report = deliver_due()

    assert report.retrying == 1 and never_connect == []
    assert WebhookDelivery.objects.get().status == Status.PENDING


# -- what staff see of the answer -----------------------------------------------------------------


def test_the_log_keeps_nothing_of_a_non_2xx_answer(post, receiver, settings):
    settings.ORDER_MESSAGES_WEBHOOK_ALLOWED_NETWORKS = ["127.0.0.1"]
    WebhookEndpoint.objects.create(url=f"{receiver.url}/hooks", secret=SECRET)
    post("alice", "1002", "bobs-bikes", "Hello")
    receiver.answer(500)

    deliver_due()

    row = WebhookDelivery.objects.get()
    assert (row.response_status, row.response_excerpt) == (500, "")
    assert "Nope" not in row.last_error


def test_a_refused_connection_and_a_silent_port_look_the_same(post, receiver, settings):
    """Staff cannot tell a closed port from an open one that says nothing (a port scan)."""
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    from tests.test_webhooks import HANG

    settings.ORDER_MESSAGES_WEBHOOK_ALLOWED_NETWORKS = ["127.0.0.1"]
    settings.ORDER_MESSAGES_WEBHOOK_TIMEOUT = 0.5
    with ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler) as closed:
        port = closed.server_address[1]
    refused = WebhookEndpoint.objects.create(url=f"http://127.0.0.1:{port}/h", secret=SECRET)
    silent = WebhookEndpoint.objects.create(url=f"{receiver.url}/h", secret=SECRET)
    receiver.answer(HANG)
    post("alice", "1002", "bobs-bikes", "Hello")

    assert deliver_due().retrying == 2

    errors = {row.endpoint_id: row.last_error for row in WebhookDelivery.objects.all()}
    assert errors[refused.pk] == errors[silent.pk] != ""
    for word in ("refused", "timed out", "timeout", "Errno"):
        assert word not in errors[refused.pk]


def test_proxy_variables_are_not_used(monkeypatch, post, receiver, settings):
    """An HTTP(S)_PROXY would resolve the name itself, after our check: it is not used."""
    settings.ORDER_MESSAGES_WEBHOOK_ALLOWED_NETWORKS = ["127.0.0.1"]
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9/")
    WebhookEndpoint.objects.create(url=f"{receiver.url}/hooks", secret=SECRET)
    post("alice", "1002", "bobs-bikes", "Hello")

    assert deliver_due().delivered == 1


# -- https: the certificate and SNI name the host, the connection goes to the checked address --


@pytest.fixture
def tls_receiver(tmp_path, settings, monkeypatch):
    """An HTTPS server on 127.0.0.1 whose certificate (self-signed, made with openssl) is
    valid for receiver.shop.test only; the worker trusts it. Records the SNI it was sent."""
    import functools
    import shutil
    import ssl
    import subprocess
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    if not shutil.which("openssl"):
        pytest.skip("needs the openssl command")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"]
        + ["-keyout", str(key), "-out", str(cert), "-subj", "/CN=receiver.shop.test"]
        + ["-addext", "subjectAltName=DNS:receiver.shop.test"],
        check=True,
        capture_output=True,
    )
    names = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, format, *args):
            pass

    server_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_context.load_cert_chain(cert, key)
    server_context.sni_callback = lambda sock, name, context: names.append(name)
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.socket = server_context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    trusting = functools.partial(ssl.create_default_context, cafile=str(cert))
    monkeypatch.setattr(destinations.ssl, "create_default_context", trusting)
    settings.ORDER_MESSAGES_WEBHOOK_ALLOWED_NETWORKS = ["127.0.0.1"]
    yield SimpleNamespace(port=server.server_address[1], names=names)
    server.shutdown()
    server.server_close()


def test_https_checks_the_certificate_for_the_host_name_at_the_checked_address(
    post, tls_receiver, fake_dns
):
    fake_dns["receiver.shop.test"] = ["127.0.0.1"]
    fake_dns["other.shop.test"] = ["127.0.0.1"]
    good = WebhookEndpoint.objects.create(
        url=f"https://receiver.shop.test:{tls_receiver.port}/hooks", secret=SECRET
    )
    WebhookEndpoint.objects.create(
        url=f"https://other.shop.test:{tls_receiver.port}/hooks", secret=SECRET
    )
    post("alice", "1002", "bobs-bikes", "Hello")

    report = deliver_due()

    assert (report.delivered, report.retrying) == (1, 1)
    assert WebhookDelivery.objects.get(endpoint=good).response_excerpt == "ok"
    # The other name's certificate does not fit: not delivered, retried, no detail for staff.
    failed = WebhookDelivery.objects.exclude(endpoint=good).get()
    assert (failed.status, failed.last_error) == (Status.PENDING, delivery.NO_ANSWER)
    # Both were sent their own host name (SNI), though both went to 127.0.0.1.
    assert sorted(set(tls_receiver.names)) == ["other.shop.test", "receiver.shop.test"]
