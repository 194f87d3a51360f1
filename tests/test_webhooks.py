"""Signed outgoing webhooks (A3) end to end: deliveries written with the change they tell
of, POSTed by the worker to a real HTTP server, signed in the Standard Webhooks format and
verified as docs/webhooks.md tells receivers to (with the standardwebhooks library, and
without it), retried with back-off, given up on, claimed by racing workers, and looked
after by staff in the admin."""

import json
import re
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.message import Message as Headers
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from io import StringIO
from pathlib import Path
from types import SimpleNamespace

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.core.management import call_command
from django.db import connection, transaction
from django.test import Client
from django.utils import timezone

from order_messages import actions
from order_messages.models import Attachment, WebhookDelivery, WebhookEndpoint
from order_messages.webhooks import delivery, queue_webhooks, signing
from order_messages.webhooks.delivery import claim_due, deliver_all, deliver_due
from tests import files
from tests.conftest import conversation_of

pytestmark = pytest.mark.usefixtures("no_conversations")

DOCS = Path(__file__).resolve().parents[1] / "docs" / "webhooks.md"
SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"  # the Standard Webhooks spec's example
CUSTOMER_EMAILS = ["alice@customers.example", "carol@customers.example", "gina@guests.example"]
ENDPOINTS = "/admin/order_messages/webhookendpoint/"
DELIVERIES = "/admin/order_messages/webhookdelivery/"
MONDAY_9AM = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
Status = WebhookDelivery.Status


# -- the receiver: a real HTTP server --------------------------------------------------------


@dataclass
class Received:
    method: str
    path: str
    headers: Headers
    body: bytes

    @property
    def event(self):
        return json.loads(self.body)


HANG = "hang"


class Receiver:
    """An HTTP server on 127.0.0.1 that records every request and answers 200, or what it
    is told to: ``receiver.answer(500, 410, HANG)`` gives the next requests those answers
    (HANG: no answer until the test ends)."""

    def __init__(self):
        self.received: list[Received] = []
        self._answers: list = []
        self._lock = threading.Lock()
        self._release = threading.Event()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with receiver._lock:
                    receiver.received.append(Received(self.command, self.path, self.headers, body))
                    answer = receiver._answers.pop(0) if receiver._answers else 200
                if answer == HANG:
                    receiver._release.wait(timeout=30)
                    return
                text = ("Nope. " * 200) if answer >= 400 else "Thanks!"
                content = text.encode()
                self.send_response(answer)
                if 300 <= answer < 400:
                    self.send_header("Location", "/elsewhere")
                self.send_header("Content-Type", "text/plain; charset=utf-8")
                self.send_header("Content-Length", str(len(content)))
                self.end_headers()
                self.wfile.write(content)

            def do_GET(self):  # a redirect followed as a GET would land here
                self.do_POST()

            def log_message(self, format, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        host, port = self.server.server_address[:2]
        self.url = f"http://{host}:{port}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    def answer(self, *answers):
        with self._lock:
            self._answers.extend(answers)

    def reset(self):
        self._release.set()  # let hanging handlers go
        with self._lock:
            self.received.clear()
            self._answers.clear()
        self._release = threading.Event()

    def stop(self):
        self._release.set()
        self.server.shutdown()
        self.server.server_close()

    def events(self, event_type=None):
        return [
            r.event for r in self.received if event_type is None or r.event["type"] == event_type
        ]


@pytest.fixture(scope="module")
def receiver_server():
    server = Receiver()
    yield server
    server.stop()


@pytest.fixture
def receiver(receiver_server, settings):
    receiver_server.reset()
    settings.ORDER_MESSAGES_WEBHOOK_TIMEOUT = 5
    settings.ORDER_MESSAGES_WEBHOOK_RETRY_BASE = 30
    settings.ORDER_MESSAGES_WEBHOOK_RETRY_MAX = 3600
    settings.ORDER_MESSAGES_WEBHOOK_MAX_ATTEMPTS = 8
    settings.ORDER_MESSAGES_WEBHOOK_CLAIM_SECONDS = 300
    # The receiver is on 127.0.0.1, which webhooks may reach only when the store allows it.
    settings.ORDER_MESSAGES_WEBHOOK_ALLOWED_NETWORKS = ["127.0.0.1"]
    yield receiver_server
    receiver_server.reset()


@pytest.fixture
def endpoint(receiver):
    """One active endpoint for every event, at the receiver."""
    return WebhookEndpoint.objects.create(url=f"{receiver.url}/hooks", secret=SECRET)


# -- helpers -----------------------------------------------------------------------------------


def docs_code(marker, name):
    """``name`` as defined in the python block of docs/webhooks.md that contains
    ``marker``."""
    blocks = re.findall(r"```python\n(.*?)```", DOCS.read_text(), re.S)
    source = next(block for block in blocks if marker in block)
    namespace = {}
    exec(source, namespace)  # noqa: S102 — our own documentation
    return namespace[name]


verify_webhook = docs_code("def verify_webhook", "verify_webhook")
library_verify = docs_code("from standardwebhooks", "verified_event")


def verify_everywhere(secret, request, now=None):
    """Verified by the library, by the docs' code without the library, and by the app's
    own ``signing.verify_webhook`` (what the demo receiver uses), all three alike."""
    headers = dict(request.headers.items())
    by_docs = verify_webhook(secret, headers, request.body, now=now)
    assert signing.verify_webhook(secret, headers, request.body, now=now) == by_docs
    if now is None:  # the library reads the clock itself
        try:
            library_verify(secret, headers, request.body)
        except Exception:  # noqa: BLE001 — WebhookVerificationError and its kin
            assert not by_docs
        else:
            assert by_docs
    return by_docs


def only(items):
    assert len(items) == 1, items
    return items[0]


def make_due():
    """Move every pending delivery's due time to now, as if time had passed."""
    WebhookDelivery.objects.filter(status=Status.PENDING).update(
        due_at=timezone.now() - timedelta(microseconds=1)
    )


def deliver_later(days=30):
    """Run the worker as if ``days`` had passed: anything still queued goes out."""
    return deliver_all(now=timezone.now() + timedelta(days=days))


# -- 1. a message becomes one signed POST -----------------------------------------------------


def test_posting_a_message_sends_one_signed_post_with_the_documented_headers(
    post, endpoint, receiver
):
    message = post("alice", "1002", "bobs-bikes", "Is the bike assembled?")
    row = only(list(WebhookDelivery.objects.all()))
    assert (row.endpoint, row.event_type, row.status) == (endpoint, "message.posted", "pending")
    assert receiver.received == []  # nothing from the request that posted

    before = int(timezone.now().timestamp())
    report = deliver_due()
    after = int(timezone.now().timestamp()) + 1

    assert (report.delivered, report.retrying, report.failed) == (1, 0, 0)
    request = only(receiver.received)
    assert (request.method, request.path) == ("POST", "/hooks")
    assert request.headers["Content-Type"] == "application/json"
    assert request.headers["User-Agent"] == "django-order-messages"
    assert request.headers["Webhook-Id"] == row.event_id
    assert re.fullmatch(r"[0-9a-f]{32}", row.event_id)
    assert before <= int(request.headers["Webhook-Timestamp"]) <= after
    assert re.fullmatch(r"v1,[A-Za-z0-9+/]{43}=", request.headers["Webhook-Signature"])
    assert verify_everywhere(SECRET, request)
    assert request.event["id"] == row.event_id
    assert request.event["data"]["message"]["seq"] == message.seq

    row.refresh_from_db()
    assert (row.status, row.attempts, row.response_status) == (Status.DELIVERED, 1, 200)
    assert row.response_excerpt == "Thanks!" and row.last_error == ""
    assert row.delivered_at is not None
    assert deliver_later().handled == 0
    assert len(receiver.received) == 1


def test_the_standard_webhooks_library_verifies_our_signature(post, endpoint, receiver):
    from standardwebhooks.webhooks import Webhook, WebhookVerificationError

    post("alice", "1002", "bobs-bikes", "Hello")
    deliver_due()
    request = only(receiver.received)
    headers = dict(request.headers.items())

    event = Webhook(SECRET).verify(request.body, headers)

    assert event["id"] == request.headers["webhook-id"] and event["type"] == "message.posted"
    other = "whsec_" + "A" * 40
    with pytest.raises(WebhookVerificationError):
        Webhook(other).verify(request.body, headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(SECRET).verify(request.body.replace(b"Hello", b"Hallo"), headers)
    with pytest.raises(WebhookVerificationError):  # the id is signed too
        Webhook(SECRET).verify(request.body, {**headers, "Webhook-Id": "f" * 32})


def test_the_documented_check_refuses_a_forged_stale_or_tampered_request(post, endpoint, receiver):
    post("alice", "1002", "bobs-bikes", "Hello")
    deliver_due()
    request = only(receiver.received)
    timestamp = int(request.headers["Webhook-Timestamp"])
    tampered = SimpleNamespace(
        headers=request.headers, body=request.body.replace(b"Hello", b"Hallo")
    )

    assert verify_everywhere(SECRET, request)
    assert not verify_everywhere("whsec_" + "A" * 40, request)
    assert not verify_everywhere(SECRET, tampered)
    assert not verify_everywhere(SECRET, request, now=timestamp + 301)
    assert verify_everywhere(SECRET, request, now=timestamp + 299)
    replayed = Headers()
    replayed["Webhook-Id"] = request.headers["Webhook-Id"]
    replayed["Webhook-Timestamp"] = str(timestamp + 1)  # a new time with the old signature
    replayed["Webhook-Signature"] = request.headers["Webhook-Signature"]
    assert not verify_everywhere(SECRET, SimpleNamespace(headers=replayed, body=request.body))


def test_the_message_payload(demo, post, endpoint, receiver):
    post("alice", "1001", "bobs-bikes", "Where is my helmet?")
    message = post("bob", "1001", "bobs-bikes", "It ships today.\nTracking follows.")
    conversation = conversation_of("1001", "bobs-bikes")

    deliver_due()

    events = receiver.events()
    assert [e["data"]["message"]["seq"] for e in events] == [1, 2]
    event = events[1]
    row = WebhookDelivery.objects.get(event_id=event["id"])
    assert event == row.payload  # what is logged is what was sent
    assert set(event) == {"id", "type", "created_at", "data"}
    assert event["type"] == "message.posted"
    created = timezone.datetime.fromisoformat(event["created_at"])
    assert abs(created - message.created_at) < timedelta(seconds=5)
    assert event["data"] == {
        "conversation": {
            "id": conversation.pk,
            "order_number": "1001",
            "vendor_key": "bobs-bikes",
            "vendor_name": "Bob's Bikes",
            "title": "Order #1001 — Bob's Bikes",
        },
        "message": {
            "seq": 2,
            "kind": "message",
            "author_role": "vendor",
            "author_name": "Bob Baker",
            "body": "It ships today.\nTracking follows.",
            "created_at": message.created_at.isoformat(),
            "attachments": [],
        },
    }


def test_the_title_is_in_the_sites_language_whatever_the_request_speaks(post, endpoint):
    from django.utils import translation

    with translation.override("de"):
        post("alice", "1001", "daves-outdoor", "Ist das Zelt wasserdicht?")

    row = only(list(WebhookDelivery.objects.all()))
    assert row.payload["data"]["conversation"]["title"] == "Order #1001 — Dave's Outdoor"


def test_dispute_events_tell_of_opening_and_resolving(demo, post, dispute, endpoint, receiver):
    with time_machine.travel(MONDAY_9AM - timedelta(minutes=5), tick=False):
        post("alice", "1002", "bobs-bikes", "The wheel is bent.")
    with time_machine.travel(MONDAY_9AM, tick=False):
        opened = dispute.open(
            "alice",
            "1002",
            "bobs-bikes",
            "It arrived broken.",
            reason_code="damaged",
            requested="replacement",
        )
    with time_machine.travel(MONDAY_9AM + timedelta(hours=2), tick=False):
        post("bob", "1002", "bobs-bikes", "Sorry! A new one is on its way.")
        closed = dispute.close(
            "admin", "1002", "bobs-bikes", outcome="replaced", note="Replacement shipped."
        )
    closed.refresh_from_db()

    report = deliver_due(now=MONDAY_9AM + timedelta(hours=2))

    assert report.delivered == 5
    # The dispute's system messages are told by the dispute events, not as messages; a
    # resolution is both dispute.closed and dispute.resolved (subscribe to either).
    assert [e["type"] for e in receiver.events()] == [
        "message.posted",
        "dispute.opened",
        "message.posted",
        "dispute.closed",
        "dispute.resolved",
    ]
    conversation = {
        "id": conversation_of("1002", "bobs-bikes").pk,
        "order_number": "1002",
        "vendor_key": "bobs-bikes",
        "vendor_name": "Bob's Bikes",
        "title": "Order #1002",
    }
    opened_event = only(receiver.events("dispute.opened"))
    assert opened_event["data"] == {
        "conversation": conversation,
        "dispute": {
            "id": opened.pk,
            "status": "open",
            "reason_code": "damaged",
            "reason_label": "Damaged",
            "requested": "replacement",
            "reason": "It arrived broken.",
            "opened_by_name": "Alice Archer",
            "opened_at": opened.opened_at.isoformat(),
            "respond_by": "2026-12-09T09:00:00+00:00",
            "responded_at": None,
            "escalated_at": None,
            "closed_by_name": "",
            "closed_at": None,
            "outcome": "",
            "resolution_note": "",
            "attachments": [],
        },
    }
    resolved = {
        "id": opened.pk,
        "status": "closed",
        "reason_code": "damaged",
        "reason_label": "Damaged",
        "requested": "replacement",
        "reason": "It arrived broken.",
        "opened_by_name": "Alice Archer",
        "opened_at": closed.opened_at.isoformat(),
        "respond_by": "2026-12-09T09:00:00+00:00",
        "responded_at": "2026-12-07T11:00:00+00:00",  # Bob's reply stopped the clock
        "escalated_at": None,
        "closed_by_name": "Ada Admin",
        "closed_at": closed.closed_at.isoformat(),
        "outcome": "replaced",
        "resolution_note": "Replacement shipped.",
    }
    closed_event = only(receiver.events("dispute.closed"))
    assert closed_event["data"] == {"conversation": conversation, "dispute": resolved}
    resolved_event = only(receiver.events("dispute.resolved"))
    assert resolved_event["data"] == {"conversation": conversation, "dispute": resolved}
    assert resolved_event["id"] != closed_event["id"]
    for request in receiver.received:
        assert verify_everywhere(SECRET, request)


def test_an_escalation_is_an_event_of_its_own(demo, post, dispute, endpoint, receiver):
    with time_machine.travel(MONDAY_9AM, tick=False):
        opened = dispute.open("alice", "1002", "bobs-bikes", "Broken", reason_code="wrong_item")
    late = MONDAY_9AM + timedelta(hours=49)
    with time_machine.travel(late, tick=False):
        assert actions.escalate_overdue_disputes(now=late) == 1
        deliver_due(now=late)

    escalated = only(receiver.events("dispute.escalated"))["data"]["dispute"]
    assert escalated["id"] == opened.pk
    assert (escalated["status"], escalated["escalated_at"]) == (
        "escalated",
        "2026-12-09T10:00:00+00:00",
    )
    assert (escalated["respond_by"], escalated["responded_at"]) == (
        "2026-12-09T09:00:00+00:00",
        None,
    )
    assert (escalated["reason_code"], escalated["reason_label"]) == ("wrong_item", "Wrong item")
    # The escalation's system message is told by the event, not as a message.
    assert [e["type"] for e in receiver.events()] == ["dispute.opened", "dispute.escalated"]


def test_a_customer_closing_their_dispute_resolves_it_as_withdrawn(dispute, endpoint, receiver):
    dispute.open("alice", "1002", "bobs-bikes", "Broken")
    dispute.close("alice", "1002", "bobs-bikes")

    deliver_due()

    resolved = only(receiver.events("dispute.resolved"))["data"]["dispute"]
    assert (resolved["status"], resolved["outcome"]) == ("closed", "withdrawn")
    assert resolved["closed_by_name"] == "Alice Archer"


def test_the_reason_label_is_in_the_sites_language_whatever_the_request_speaks(dispute, endpoint):
    from django.utils import translation

    with translation.override("de"):
        dispute.open("alice", "1002", "bobs-bikes", "Kaputt", reason_code="damaged")

    row = only(list(WebhookDelivery.objects.filter(event_type="dispute.opened")))
    assert row.payload["data"]["dispute"]["reason_label"] == "Damaged"


def test_the_files_of_a_message_or_a_dispute_are_described_not_sent(access_as, endpoint, receiver):
    access = access_as("alice", "1002")
    sub_order = access.sub_order("bobs-bikes")
    actor = access.actor_in(sub_order)

    def upload(name, content):
        return actions.upload_attachment(
            order_number="1002", vendor_key="bobs-bikes", actor=actor, name=name, content=content
        ).pk

    actions.post_message(
        order=access.order,
        sub_order=sub_order,
        actor=actor,
        body="",
        attachments=[upload("IMG_0001.JPG", files.phone_photo()), upload("bill.pdf", files.pdf())],
    )
    actions.open_dispute(
        order=access.order,
        sub_order=sub_order,
        actor=actor,
        reason="Scratched",
        attachments=[upload("scratch.png", files.png(width=64, height=48))],
    )

    deliver_due()

    photo, bill, scratch = Attachment.objects.order_by("pk")
    posted = only(receiver.events("message.posted"))["data"]["message"]
    assert posted["body"] == ""
    assert posted["attachments"] == [
        {
            "id": photo.pk,
            "name": "IMG_0001.JPG",
            "content_type": "image/jpeg",
            "size": photo.size,
            "width": 300,  # turned upright, as the phone was held
            "height": 400,
        },
        {
            "id": bill.pk,
            "name": "bill.pdf",
            "content_type": "application/pdf",
            "size": bill.size,
            "width": None,
            "height": None,
        },
    ]
    opened = only(receiver.events("dispute.opened"))["data"]["dispute"]
    assert opened["attachments"] == [
        {
            "id": scratch.pk,
            "name": "scratch.png",
            "content_type": "image/png",
            "size": scratch.size,
            "width": 64,
            "height": 48,
        }
    ]
    # What the files are, never their content or a way to open them.
    for request in receiver.received:
        assert b"/files/" not in request.body and scratch.file.encode() not in request.body
        assert verify_everywhere(SECRET, request)


# -- 2. who gets what ---------------------------------------------------------------------------


def test_an_endpoint_gets_only_the_events_it_subscribed_to(post, dispute, receiver):
    everything = WebhookEndpoint.objects.create(url=f"{receiver.url}/all", secret=SECRET)
    disputes = WebhookEndpoint.objects.create(
        url=f"{receiver.url}/disputes", secret=SECRET, events=["dispute.opened"]
    )
    WebhookEndpoint.objects.create(
        url=f"{receiver.url}/outcomes", secret=SECRET, events=["dispute.resolved"]
    )

    post("alice", "1002", "bobs-bikes", "Hello")

    only(list(WebhookDelivery.objects.all()))
    assert not WebhookDelivery.objects.filter(endpoint=disputes).exists()

    dispute.open("alice", "1002", "bobs-bikes", "Broken")
    dispute.close("alice", "1002", "bobs-bikes")
    deliver_due()

    got = {(r.path, r.event["type"]) for r in receiver.received}
    assert got == {
        ("/all", "message.posted"),
        ("/all", "dispute.opened"),
        ("/all", "dispute.closed"),
        # Subscribed to everything: event types added later too.
        ("/all", "dispute.resolved"),
        ("/disputes", "dispute.opened"),
        ("/outcomes", "dispute.resolved"),
    }
    # Each endpoint's delivery is its own event, with its own id.
    ids = [r.headers["Webhook-Id"] for r in receiver.received]
    assert len(set(ids)) == 6
    assert WebhookDelivery.objects.filter(endpoint=everything).count() == 4


def test_inactive_endpoints_get_nothing(post, dispute, receiver):
    WebhookEndpoint.objects.create(url=f"{receiver.url}/off", secret=SECRET, active=False)

    post("alice", "1002", "bobs-bikes", "Hello")
    dispute.open("alice", "1002", "bobs-bikes", "Broken")

    assert not WebhookDelivery.objects.exists()
    assert deliver_later().handled == 0
    assert receiver.received == []


def test_a_delivery_whose_endpoint_was_deactivated_meanwhile_is_not_sent(post, endpoint, receiver):
    post("alice", "1002", "bobs-bikes", "Hello")
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(active=False)

    report = deliver_due()

    assert (report.failed, report.delivered) == (1, 0)
    assert receiver.received == []
    row = WebhookDelivery.objects.get()
    assert (row.status, row.attempts) == (Status.FAILED, 0)
    assert "inactive" in row.last_error


def test_a_rolled_back_post_queues_nothing(post, endpoint, receiver):
    class Oops(Exception):
        pass

    with pytest.raises(Oops), transaction.atomic():
        post("alice", "1002", "bobs-bikes", "Never happened")
        assert WebhookDelivery.objects.count() == 1  # written in the post's transaction…
        raise Oops()

    assert not WebhookDelivery.objects.exists()  # …and gone with it
    assert deliver_later().handled == 0
    assert receiver.received == []


def test_queueing_costs_one_query_without_endpoints(post, receiver, django_assert_num_queries):
    message = post("alice", "1002", "bobs-bikes", "Hello")
    conversation = conversation_of("1002", "bobs-bikes")

    with django_assert_num_queries(1):
        assert (
            queue_webhooks(event_type="message.posted", conversation=conversation, message=message)
            == []
        )

    WebhookEndpoint.objects.create(url=f"{receiver.url}/a", secret=SECRET)
    WebhookEndpoint.objects.create(url=f"{receiver.url}/b", secret=SECRET)
    with django_assert_num_queries(2):  # the endpoints, one INSERT for both rows
        rows = queue_webhooks(
            event_type="message.posted", conversation=conversation, message=message
        )
    assert len(rows) == 2


def test_the_customers_email_address_is_in_no_payload(demo, post, dispute, endpoint, receiver):
    post("alice", "1001", "bobs-bikes", "Hello")
    post("bob", "1001", "bobs-bikes", "Hi Alice")
    post("alice", "1004", "store", "About my gift card")
    post("admin", "1004", "store", "It is on its way")
    post("carol", "1005", "daves-outdoor", "When will the stove ship?")
    post(None, "1006", "daves-outdoor", "A guest asks")
    post("dave", "1006", "daves-outdoor", "Tomorrow")
    dispute.open("carol", "1005", "daves-outdoor", "Too slow")
    dispute.close("admin", "1005", "daves-outdoor", "refunded", "Refunded in full.")
    dispute.open(None, "1006", "daves-outdoor", "Wrong size")

    deliver_due()

    # 7 messages, 2 openings, and a resolution as dispute.closed and dispute.resolved.
    assert len(receiver.received) == WebhookDelivery.objects.count() == 11
    stored = json.dumps(list(WebhookDelivery.objects.values_list("payload", flat=True)))
    sent = b"".join(r.body for r in receiver.received).decode()
    for email in CUSTOMER_EMAILS:
        assert email not in stored
        assert email not in sent
    assert "@" not in sent  # nobody's address, in fact


# -- 3. retries, back-off, giving up ------------------------------------------------------------


def test_a_failed_delivery_is_retried_with_the_same_id_and_body(
    post, endpoint, receiver, monkeypatch
):
    post("alice", "1002", "bobs-bikes", "Hello")
    receiver.answer(500)

    report = deliver_due()

    assert (report.retrying, report.delivered) == (1, 0)
    row = WebhookDelivery.objects.get()
    assert (row.status, row.attempts, row.response_status) == (Status.PENDING, 1, 500)
    assert row.response_excerpt == ""  # nothing of an answer that is not 2xx
    assert row.last_error == "HTTP 500 Internal Server Error"
    assert deliver_due().handled == 0  # not due yet

    # The retry happens later: its timestamp (and so its signature) is new.
    clock = int(timezone.now().timestamp()) + 60
    monkeypatch.setattr(delivery, "time", SimpleNamespace(time=lambda: clock))
    make_due()
    report = deliver_due()

    assert report.delivered == 1
    first, second = receiver.received
    assert first.headers["Webhook-Id"] == second.headers["Webhook-Id"] == row.event_id
    assert first.body == second.body
    assert int(second.headers["Webhook-Timestamp"]) == clock
    assert int(first.headers["Webhook-Timestamp"]) < clock
    assert first.headers["Webhook-Signature"] != second.headers["Webhook-Signature"]
    assert verify_everywhere(SECRET, first)
    assert verify_everywhere(SECRET, second, now=clock)
    row.refresh_from_db()
    assert (row.status, row.attempts, row.response_status) == (Status.DELIVERED, 2, 200)
    assert (row.response_excerpt, row.last_error) == ("Thanks!", "")
    assert deliver_later().handled == 0
    assert len(receiver.received) == 2  # delivered once, after one retry


@pytest.mark.parametrize("status", [302, 404, 429, 503])
def test_any_answer_but_2xx_and_410_is_retried(post, endpoint, receiver, status):
    post("alice", "1002", "bobs-bikes", "Hello")
    receiver.answer(status)

    report = deliver_due()

    assert report.retrying == 1
    row = WebhookDelivery.objects.get()
    assert (row.status, row.response_status) == (Status.PENDING, status)
    only(receiver.received)  # a redirect is not followed
    assert WebhookEndpoint.objects.get().active


def test_failures_back_off_exponentially_then_fail(post, endpoint, receiver, settings):
    settings.ORDER_MESSAGES_WEBHOOK_RETRY_BASE = 30
    settings.ORDER_MESSAGES_WEBHOOK_RETRY_MAX = 200
    settings.ORDER_MESSAGES_WEBHOOK_MAX_ATTEMPTS = 6
    post("alice", "1002", "bobs-bikes", "Hello")
    receiver.answer(*[500] * 10)

    for attempt, delay in enumerate([30, 60, 120, 200, 200], start=1):
        make_due()
        before = timezone.now()
        report = deliver_due()
        after = timezone.now()
        assert report.retrying == 1, attempt
        row = WebhookDelivery.objects.get()
        assert (row.status, row.attempts) == (Status.PENDING, attempt)
        assert before + timedelta(seconds=delay) <= row.due_at <= after + timedelta(seconds=delay)

    make_due()
    report = deliver_due()

    assert (report.failed, report.retrying) == (1, 0)
    row = WebhookDelivery.objects.get()
    assert (row.status, row.attempts, row.response_status) == (Status.FAILED, 6, 500)
    assert len(receiver.received) == 6
    assert len({r.headers["Webhook-Id"] for r in receiver.received}) == 1
    assert deliver_later().handled == 0  # given up for good
    assert len(receiver.received) == 6


def test_gone_fails_at_once_and_deactivates_the_endpoint(post, endpoint, receiver):
    post("alice", "1002", "bobs-bikes", "First")
    post("alice", "1002", "bobs-bikes", "Second")
    receiver.answer(410)

    report = deliver_due()

    assert (report.failed, report.retrying, report.delivered) == (2, 0, 0)
    only(receiver.received)  # the second was not sent to an endpoint that is gone
    first, second = WebhookDelivery.objects.order_by("pk")
    assert (first.status, first.attempts, first.response_status) == (Status.FAILED, 1, 410)
    assert second.status == Status.FAILED and second.response_status is None
    assert not WebhookEndpoint.objects.get().active

    post("alice", "1002", "bobs-bikes", "Third")
    assert WebhookDelivery.objects.count() == 2  # an inactive endpoint gets nothing new
    assert deliver_later().handled == 0


def test_a_receiver_that_does_not_answer_in_time_is_tried_again(post, endpoint, receiver, settings):
    settings.ORDER_MESSAGES_WEBHOOK_TIMEOUT = 0.5
    post("alice", "1002", "bobs-bikes", "First")
    post("alice", "1002", "bobs-bikes", "Second")
    receiver.answer(HANG)

    started = timezone.now()
    report = deliver_due()
    took = timezone.now() - started

    assert report.retrying == 2
    assert took < timedelta(seconds=3)  # one timeout, not one per delivery
    only(receiver.received)  # the endpoint's other delivery was not tried this round
    first, second = WebhookDelivery.objects.order_by("pk")
    assert (first.status, first.attempts, first.response_status) == (Status.PENDING, 1, None)
    assert first.last_error == delivery.NO_ANSWER
    assert (second.status, second.attempts) == (Status.PENDING, 1)
    assert second.last_error.startswith("Not tried:")

    make_due()
    report = deliver_due()

    assert report.delivered == 2
    events = [r.event["data"]["message"]["body"] for r in receiver.received]
    assert events == ["First", "First", "Second"]
    assert receiver.received[0].body == receiver.received[1].body


def test_a_refused_connection_is_tried_again(post, receiver):
    with ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler) as closed:
        port = closed.server_address[1]
    WebhookEndpoint.objects.create(url=f"http://127.0.0.1:{port}/hooks", secret=SECRET)
    post("alice", "1002", "bobs-bikes", "Hello")

    report = deliver_due()

    assert report.retrying == 1
    row = WebhookDelivery.objects.get()
    assert (row.status, row.attempts, row.response_status) == (Status.PENDING, 1, None)
    assert row.last_error == delivery.NO_ANSWER  # as for a timeout: no port scan


# -- 4. workers -------------------------------------------------------------------------------


@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="SQLite has no SELECT … FOR UPDATE SKIP LOCKED"
)
@pytest.mark.django_db(transaction=True)
def test_four_racing_workers_deliver_every_event_exactly_once(demo, post, receiver):
    for name in ("a", "b"):
        WebhookEndpoint.objects.create(url=f"{receiver.url}/{name}", secret=SECRET)
    for i in range(40):
        post("alice", "1002", "bobs-bikes", f"Message {i}")
        post("carol", "1005", "daves-outdoor", f"Message {i}")
    planned = set(WebhookDelivery.objects.values_list("event_id", flat=True))
    assert len(planned) == 160
    start = threading.Barrier(4)

    def worker():
        delivered = 0
        try:
            start.wait(timeout=10)
            while True:
                report = deliver_due(limit=7)
                assert not report.errors, report.errors
                if not report.handled:
                    return delivered
                delivered += report.delivered
        finally:
            connection.close()  # this thread's own connection

    with ThreadPoolExecutor(max_workers=4) as pool:
        futures = [pool.submit(worker) for _ in range(4)]
        delivered_by_worker = [future.result(timeout=120) for future in futures]

    assert sum(delivered_by_worker) == 160
    assert sum(1 for n in delivered_by_worker if n) >= 2, delivered_by_worker  # they did race
    received = [r.headers["Webhook-Id"] for r in receiver.received]
    assert len(received) == 160
    assert set(received) == planned  # each event exactly once
    assert WebhookDelivery.objects.filter(status=Status.DELIVERED).count() == 160


def test_the_claim_of_a_worker_that_died_lapses(post, endpoint, receiver, settings):
    settings.ORDER_MESSAGES_WEBHOOK_CLAIM_SECONDS = 300
    post("alice", "1002", "bobs-bikes", "Hello")
    at = timezone.now()

    dead_claim, ids = claim_due(limit=10, now=at)  # …and the worker never comes back

    row = WebhookDelivery.objects.get()
    assert ids == [row.pk]
    assert (row.status, row.claim) == (Status.SENDING, dead_claim)
    assert deliver_due(now=at + timedelta(seconds=299)).handled == 0
    assert receiver.received == []

    report = deliver_due(now=at + timedelta(seconds=300))

    assert report.delivered == 1
    assert only(receiver.received).headers["Webhook-Id"] == row.event_id
    row.refresh_from_db()
    assert row.status == Status.DELIVERED and row.claim != dead_claim


def test_the_notification_command_delivers_webhooks_too(post, dispute, endpoint, receiver):
    post("alice", "1002", "bobs-bikes", "Not due by e-mail for a while")
    dispute.open("alice", "1002", "bobs-bikes", "The wheel is bent.")
    out = StringIO()

    call_command("deliver_notifications", "--once", stdout=out)

    assert out.getvalue().splitlines() == [
        "sent 3, not needed 0, to retry 0, failed 0",  # the dispute's e-mails
        "webhooks delivered 2, to retry 0, failed 0",
    ]
    assert [e["type"] for e in receiver.events()] == ["message.posted", "dispute.opened"]

    out = StringIO()
    call_command("deliver_notifications", "--once", stdout=out)
    assert out.getvalue().strip() == "sent 0, not needed 0, to retry 0, failed 0"


# -- 5. the admin -------------------------------------------------------------------------------


@pytest.fixture
def manager(demo):
    """A staff user who may manage conversations, and nothing else in the admin."""
    user = get_user_model().objects.create_user(
        "sam", "sam@marketplace.example", "demo", is_staff=True
    )
    user.user_permissions.add(Permission.objects.get(codename="manage_conversations"))
    client = Client()
    client.force_login(user)
    return client


def test_staff_add_an_endpoint_and_a_secret_is_made_for_it(manager, receiver):
    assert manager.get(ENDPOINTS).status_code == 200
    page = manager.get(f"{ENDPOINTS}add/")
    assert page.status_code == 200
    for event_type in ("message.posted", "dispute.opened", "dispute.closed"):
        assert f'value="{event_type}"' in page.content.decode()

    response = manager.post(
        f"{ENDPOINTS}add/",
        {
            "url": f"{receiver.url}/hooks",
            "description": "ERP",
            "events": ["dispute.opened", "dispute.closed"],
            "secret": "",
            "active": "on",
        },
    )

    assert response.status_code == 302, response.context["adminform"].form.errors
    endpoint = WebhookEndpoint.objects.get()
    assert endpoint.events == ["dispute.opened", "dispute.closed"]
    signing.check_secret(endpoint.secret)  # whsec_ and base64
    assert endpoint.active

    change = f"{ENDPOINTS}{endpoint.pk}/change/"
    page = manager.get(change).content.decode()
    assert endpoint.secret in page  # shown, to copy to the receiver…
    assert 'name="secret"' not in page  # …but not editable
    secret = endpoint.secret
    manager.post(
        change,
        {"url": f"{receiver.url}/new", "description": "ERP", "secret": "x" * 40, "active": ""},
    )
    endpoint.refresh_from_db()
    assert (endpoint.url, endpoint.events, endpoint.active) == (f"{receiver.url}/new", [], False)
    assert endpoint.secret == secret  # unchanged

    listing = manager.get(ENDPOINTS).content.decode()
    assert f"{receiver.url}/new" in listing and "All events" in listing


@pytest.mark.parametrize(
    "secret",
    [
        "too short",
        "s3cr3t-" + "0123456789abcdef" * 3,  # long enough, but not a Standard Webhooks secret
        "whsec_" + "QUJD" * 7,  # 21 bytes: too short a key
        "whsec_" + "not base64!" * 4,
    ],
)
def test_a_secret_not_in_the_standard_form_is_refused(manager, receiver, secret):
    form = {"url": f"{receiver.url}/hooks", "events": [], "active": "on", "secret": secret}

    response = manager.post(f"{ENDPOINTS}add/", form)

    assert response.status_code == 200
    assert "base64 of 24 to 64 random bytes" in response.content.decode()
    assert not WebhookEndpoint.objects.exists()


def test_a_chosen_secret_is_kept_and_other_schemes_refused(manager, receiver, monkeypatch):
    from order_messages.webhooks import destinations

    # shop.example is resolved by this table, not by the network.
    monkeypatch.setattr(destinations, "resolve", lambda host, port: ["93.184.215.14"])
    form = {"url": f"{receiver.url}/hooks", "events": [], "active": "on"}

    response = manager.post(f"{ENDPOINTS}add/", {**form, "url": "ftp://shop.example/hooks"})
    assert response.status_code == 200  # only http and https
    assert not WebhookEndpoint.objects.exists()

    manager.post(f"{ENDPOINTS}add/", {**form, "url": "shop.example/hooks", "secret": SECRET})
    endpoint = WebhookEndpoint.objects.get()
    assert (endpoint.url, endpoint.secret) == ("https://shop.example/hooks", SECRET)


def test_other_staff_cannot_see_or_change_endpoints(demo, endpoint):
    user = get_user_model().objects.create_user("pat", "pat@x.example", "demo", is_staff=True)
    client = Client()
    client.force_login(user)

    assert client.get(ENDPOINTS).status_code == 403
    assert client.get(DELIVERIES).status_code == 403
    assert client.post(f"{ENDPOINTS}add/", {"url": "http://evil.example/"}).status_code == 403
    assert WebhookEndpoint.objects.get().url == endpoint.url


def test_the_delivery_log_lists_filters_and_shows_deliveries(
    manager, post, dispute, endpoint, receiver
):
    post("alice", "1002", "bobs-bikes", "Hello")
    dispute.open("alice", "1002", "bobs-bikes", "Broken")
    receiver.answer(500)
    deliver_due()
    failed = WebhookDelivery.objects.get(event_type="message.posted")
    assert failed.status == Status.PENDING

    def listed(query=""):
        response = manager.get(DELIVERIES + query)
        assert response.status_code == 200
        return {row.pk for row in response.context["cl"].result_list}

    everything = set(WebhookDelivery.objects.values_list("pk", flat=True))
    assert listed() == everything
    assert listed("?status__exact=pending") == {failed.pk}
    assert listed("?status__exact=delivered") == everything - {failed.pk}
    assert listed("?event_type=dispute.opened") == everything - {failed.pk}
    assert listed(f"?endpoint__id__exact={endpoint.pk}") == everything
    assert listed(f"?q={failed.event_id}") == {failed.pk}

    page = manager.get(f"{DELIVERIES}{failed.pk}/change/")
    assert page.status_code == 200
    text = page.content.decode()
    assert failed.event_id in text and "Hello" in text
    assert "Nope." not in text  # the error page's text was not kept
    assert "<textarea" not in text
    assert manager.post(f"{DELIVERIES}{failed.pk}/change/", {}).status_code == 403
    assert manager.get(f"{DELIVERIES}add/").status_code == 403


def test_deliver_again_requeues_only_failed_deliveries(manager, post, endpoint, receiver, settings):
    settings.ORDER_MESSAGES_WEBHOOK_MAX_ATTEMPTS = 1
    post("alice", "1002", "bobs-bikes", "Failed")
    receiver.answer(500)
    deliver_due()
    post("alice", "1002", "bobs-bikes", "Delivered")
    deliver_due()
    failed = WebhookDelivery.objects.get(status=Status.FAILED)
    delivered = WebhookDelivery.objects.get(status=Status.DELIVERED)

    response = manager.post(
        DELIVERIES,
        {"action": "deliver_again", "_selected_action": [failed.pk, delivered.pk]},
        follow=True,
    )

    assert "1 webhook will be delivered again." in response.content.decode()
    failed.refresh_from_db()
    assert (failed.status, failed.attempts, failed.claim) == (Status.PENDING, 0, "")
    assert WebhookDelivery.objects.get(pk=delivered.pk).status == Status.DELIVERED

    report = deliver_due()

    assert report.delivered == 1
    again = receiver.received[-1]
    assert again.headers["Webhook-Id"] == failed.event_id
    assert again.body == receiver.received[0].body
    assert WebhookDelivery.objects.get(pk=failed.pk).status == Status.DELIVERED


def test_deliver_again_leaves_deliveries_to_an_inactive_endpoint(manager, post, endpoint, receiver):
    post("alice", "1002", "bobs-bikes", "Hello")
    receiver.answer(410)
    deliver_due()
    row = WebhookDelivery.objects.get()

    response = manager.post(
        DELIVERIES, {"action": "deliver_again", "_selected_action": [row.pk]}, follow=True
    )

    text = response.content.decode()
    assert "0 webhooks will be delivered again." in text
    assert "inactive endpoint" in text
    assert WebhookDelivery.objects.get().status == Status.FAILED
