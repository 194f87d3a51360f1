"""Live updates (A2): who gets which event, after commit only; the stream's replay and
refresh; and events crossing server processes through Redis."""

import json
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest
from django.contrib.auth import get_user_model
from django.db import transaction

from order_messages import live
from order_messages.live import MemoryBroker
from tests.conftest import conversation_of

REPO = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.usefixtures("no_conversations")
THREAD = "/messages/orders/1002/bobs-bikes/"


@pytest.fixture
def broker(monkeypatch):
    """A fresh in-process broker for each test."""
    fresh = MemoryBroker(window=50)
    monkeypatch.setattr(live, "get_broker", lambda: fresh)
    return fresh


def events_of(broker, user):
    return [(e.type, e.data) for e in broker.replay(user.pk, 0) or []]


# -- the broker ------------------------------------------------------------------------------


def test_each_user_has_a_numbered_stream_with_a_short_replay_window():
    broker = MemoryBroker(window=3)
    for n in range(5):
        broker.publish(7, "unread.changed", {"total": n})
    broker.publish(8, "unread.changed", {"total": 1})

    assert broker.latest(7) == 5 and broker.latest(8) == 1
    assert [e.id for e in broker.replay(7, 2)] == [3, 4, 5]
    assert broker.replay(7, 5) == []
    assert broker.replay(7, 1) is None  # event 2 is gone: the client must refresh


# -- what is published ---------------------------------------------------------------------------


def test_a_message_tells_the_participants_and_changes_the_readers_counts(
    broker, demo, post, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        post("alice", "1002", "bobs-bikes", "Is it assembled?")

    conversation = conversation_of("1002", "bobs-bikes")
    for user in (demo["alice"], demo["bob"]):
        posted = [d for t, d in events_of(broker, user) if t == "message.posted"]
        assert posted == [
            {
                "conversation": conversation.pk,
                "order_number": "1002",
                "vendor_key": "bobs-bikes",
                "seq": 1,
                "author_name": "Alice Archer",
                "author_role": "customer",
                "excerpt": "Is it assembled?",
                "attachments": 0,
            }
        ]
    assert ("unread.changed", {"total": 1}) in events_of(broker, demo["bob"])
    assert not [t for t, _ in events_of(broker, demo["alice"]) if t == "unread.changed"]


def test_nobody_outside_the_conversation_hears_of_it(
    broker, demo, post, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        post("alice", "1002", "bobs-bikes", "Private")

    for outsider in ("carol", "dave", "admin"):
        assert events_of(broker, demo[outsider]) == []


def test_store_staff_hear_which_conversation_changed_and_nothing_more(
    broker, demo, post, dispute, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        post("alice", "1002", "bobs-bikes", "Private")
    with django_capture_on_commit_callbacks(execute=True):
        dispute.open("alice", "1002", "bobs-bikes", "Broken")

    pk = conversation_of("1002", "bobs-bikes").pk
    changed = {"conversation": pk, "order_number": "1002", "vendor_key": "bobs-bikes"}
    assert [(e.type, e.data) for e in broker.replay(live.STAFF, 0)] == [
        ("conversation.changed", {**changed, "seq": 1}),
        ("conversation.changed", {**changed, "seq": 2}),
    ]


def test_nothing_is_published_for_a_rolled_back_message(
    broker, demo, post, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        with pytest.raises(RuntimeError), transaction.atomic():
            post("alice", "1002", "bobs-bikes", "Never happened")
            raise RuntimeError

    assert events_of(broker, demo["bob"]) == []


def test_reading_and_disputes_are_published(
    broker, demo, post, dispute, django_capture_on_commit_callbacks
):
    from order_messages import actions

    steps = [
        lambda: post("alice", "1002", "bobs-bikes", "Hello"),
        lambda: actions.mark_read(
            conversation=conversation_of("1002", "bobs-bikes"), user=demo["bob"]
        ),
        lambda: dispute.open("alice", "1002", "bobs-bikes", "Broken"),
        lambda: dispute.close("alice", "1002", "bobs-bikes"),
    ]
    for step in steps:  # each its own transaction, as in a request
        with django_capture_on_commit_callbacks(execute=True):
            step()

    bob = events_of(broker, demo["bob"])
    assert [d["total"] for t, d in bob if t == "unread.changed"] == [1, 0, 1, 2]
    assert [t for t, _ in bob if t.startswith("dispute.")] == ["dispute.opened", "dispute.closed"]
    assert [t for t, _ in events_of(broker, demo["admin"]) if t.startswith("dispute.")] == [
        "dispute.opened",
        "dispute.closed",
    ]


def test_a_broken_broker_does_not_stop_posting(
    demo, post, monkeypatch, django_capture_on_commit_callbacks
):
    class Down:
        def publish(self, *args):
            raise ConnectionError("Redis is down")

    monkeypatch.setattr(live, "get_broker", lambda: Down())
    with django_capture_on_commit_callbacks(execute=True):
        message = post("alice", "1002", "bobs-bikes", "Still posted")

    assert message.pk and conversation_of("1002", "bobs-bikes").last_seq == 1


# -- the stream over HTTP (uvicorn) -------------------------------------------------------------


def login(base, username):
    client = httpx.Client(base_url=base, timeout=10)
    client.get("/accounts/login/")
    response = client.post(
        "/accounts/login/",
        data={
            "username": username,
            "password": "demo",
            "csrfmiddlewaretoken": client.cookies["csrftoken"],
        },
    )
    assert response.status_code == 302, response.text[:300]
    return client


def read_events(client, *, headers=None, want=1, timeout=5.0):
    """The first ``want`` events of the stream (heartbeats and retry lines skipped), or
    those that came before nothing more came for ``timeout`` seconds."""
    found, current = [], {}
    with client.stream("GET", "/messages/live/", headers=headers, timeout=timeout) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        try:
            for line in response.iter_lines():
                if line.startswith(("id:", "event:", "data:")):
                    name, _, value = line.partition(":")
                    current[name] = value.strip()
                elif line == "" and current:
                    found.append(current)
                    current = {}
                    if len(found) >= want:
                        return found
        except httpx.ReadTimeout:
            pass
    return found


def post_message(client, text, path=THREAD):
    page = client.get(path)
    assert page.status_code == 200
    response = client.post(
        path, data={"body": text, "csrfmiddlewaretoken": client.cookies["csrftoken"]}
    )
    assert response.status_code == 302, response.text[:300]


def test_the_stream_refuses_anonymous_visitors(asgi_server):
    assert httpx.get(f"{asgi_server}/messages/live/").status_code == 401
    bogus = {"Authorization": "Bearer om_not-a-token"}
    assert httpx.get(f"{asgi_server}/messages/live/", headers=bogus).status_code == 401


def test_an_app_listens_with_its_api_token(asgi_server, demo, broker):
    from order_messages.actions import create_token, revoke_token

    row, token = create_token(user=demo["bob"], name="Phone")
    app = httpx.Client(base_url=asgi_server, headers={"Authorization": f"Bearer {token}"})
    alice = login(asgi_server, "alice")
    result = {}
    reader = threading.Thread(target=lambda: result.update(events=read_events(app, want=1)))
    reader.start()
    time.sleep(0.5)
    post_message(alice, "For the app")
    reader.join(timeout=5)

    assert json.loads(result["events"][0]["data"])["excerpt"] == "For the app"
    revoke_token(user=demo["bob"], token_id=row.pk)
    assert app.get("/messages/live/").status_code == 401


def test_the_stream_delivers_and_resumes_from_last_event_id(asgi_server, demo, broker):
    broker.window = 5
    bob = login(asgi_server, "bob")
    alice = login(asgi_server, "alice")
    result = {}
    reader = threading.Thread(target=lambda: result.update(events=read_events(bob, want=2)))
    reader.start()
    time.sleep(0.5)  # the stream is open
    post_message(alice, "First")
    reader.join(timeout=5)

    events = result["events"]
    assert [e["event"] for e in events] == ["message.posted", "unread.changed"]
    assert json.loads(events[0]["data"])["excerpt"] == "First"

    # Reconnecting with the last id seen replays what came meanwhile.
    post_message(alice, "While away")
    replayed = read_events(bob, headers={"Last-Event-ID": events[-1]["id"]}, want=2)
    assert [json.loads(e["data"]).get("excerpt") for e in replayed] == ["While away", None]
    assert [int(e["id"]) for e in replayed] == [3, 4]

    # Fallen too far behind: a refresh, then on from there.
    for n in range(4):
        post_message(alice, f"Burst {n}")
    (refresh,) = read_events(bob, headers={"Last-Event-ID": "1"}, want=1)
    assert refresh["event"] == "refresh" and int(refresh["id"]) == broker.latest(demo["bob"].pk)


def test_store_staff_streams_follow_every_conversation_vendors_only_theirs(
    asgi_server, demo, broker
):
    admin, dave, alice = login(asgi_server, "admin"), login(asgi_server, "dave"), None
    result = {}
    readers = [
        threading.Thread(target=lambda: result.update(admin=read_events(admin, want=1))),
        threading.Thread(target=lambda: result.update(dave=read_events(dave, want=1, timeout=2.5))),
    ]
    for reader in readers:
        reader.start()
    time.sleep(0.5)
    alice = login(asgi_server, "alice")
    post_message(alice, "For Bob only")
    for reader in readers:
        reader.join(timeout=6)

    (event,) = result["admin"]
    assert event["event"] == "conversation.changed" and "id" not in event
    data = json.loads(event["data"])
    assert (data["order_number"], data["vendor_key"]) == ("1002", "bobs-bikes")
    assert "excerpt" not in data
    assert result["dave"] == []  # a vendor's stream hears nothing of Bob's conversation


def test_staff_who_lose_the_right_hear_no_more(asgi_server, demo, broker):
    from django.contrib.auth.models import Permission

    helper = get_user_model().objects.create_user("helper", password="demo", is_staff=True)
    permission = Permission.objects.get(codename="manage_conversations")
    helper.user_permissions.add(permission)
    client, alice = login(asgi_server, "helper"), login(asgi_server, "alice")
    result = {}
    reader = threading.Thread(
        target=lambda: result.update(events=read_events(client, want=2, timeout=4))
    )
    reader.start()
    time.sleep(0.5)
    post_message(alice, "While the helper may read it")
    time.sleep(0.5)
    helper.user_permissions.remove(permission)
    post_message(alice, "Not for the helper")
    reader.join(timeout=6)

    assert [json.loads(e["data"])["seq"] for e in result["events"]] == [1]


def stream_request(client, user):
    """A request of ``user``'s signed-in browser, as the stream view gets it."""
    from django.contrib.sessions.backends.db import SessionStore
    from django.test import RequestFactory

    client.force_login(user)
    request = RequestFactory().get("/messages/live/")
    request.session = SessionStore(client.session.session_key)
    return request


def changed(conversation, seq):
    return live.Event(0, live.CHANGED, {"conversation": conversation.pk, "seq": seq})


def test_a_burst_is_checked_once_and_only_the_last_change_of_a_conversation_goes_out(
    demo, post, client
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from order_messages.views.live import SEND, SKIP, _verdicts

    post("alice", "1002", "bobs-bikes", "Hello Bob")
    post("alice", "1001", "daves-outdoor", "Hello Dave")
    ours, other = conversation_of("1002", "bobs-bikes"), conversation_of("1001", "daves-outdoor")
    request = stream_request(client, demo["bob"])
    own = live.Event(1, "unread.changed", {"total": 3})
    _verdicts(request, demo["bob"], [own])  # the session's data is read once per stream

    with CaptureQueriesContext(connection) as one:
        assert _verdicts(request, demo["bob"], [changed(ours, 1)]) == [SEND]
    burst = [changed(ours, 1), own, changed(other, 1), changed(ours, 2), changed(other, 2)]
    with CaptureQueriesContext(connection) as many:
        verdicts = _verdicts(request, demo["bob"], burst)

    # Bob's own count goes out; Dave's conversation does not; Bob's first change is
    # repeated by the later one.
    assert verdicts == [SKIP, SEND, SKIP, SEND, SKIP]
    assert len(many.captured_queries) == len(one.captured_queries)


def test_a_stream_whose_session_ended_sends_nothing_of_a_burst(demo, client):
    from order_messages.views.live import _verdicts

    request = stream_request(client, demo["bob"])
    client.logout()
    assert _verdicts(request, demo["bob"], [live.Event(1, "unread.changed", {})]) is None


# -- across processes ------------------------------------------------------------------------------


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def redis_available(url):
    try:
        import redis

        return redis.Redis.from_url(url, socket_timeout=1).ping()
    except Exception:  # noqa: BLE001
        return False


REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


@pytest.mark.django_db(transaction=True)
def test_an_event_crosses_two_server_processes_through_redis(tmp_path):
    """Alice's stream is served by one uvicorn process, Bob posts through another: the
    event reaches her through Redis pub/sub."""
    if not redis_available(REDIS_URL):
        pytest.fail(f"Redis is needed at {REDIS_URL} (set TEST_REDIS_URL)")
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'two-processes.sqlite3'}",
        "REDIS_URL": REDIS_URL,
        "DJANGO_SETTINGS_MODULE": "demo.settings",
    }
    python = sys.executable
    for command in (["migrate", "--noinput"], ["seed_demo", "--no-history"]):
        subprocess.run(
            [python, "manage.py", *command], cwd=REPO, env=env, check=True, capture_output=True
        )
    ports = [free_port(), free_port()]
    servers = [
        subprocess.Popen(
            [python, "-m", "uvicorn", "demo.asgi:application", "--port", str(port)],
            cwd=REPO,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for port in ports
    ]
    try:
        bases = [f"http://127.0.0.1:{port}" for port in ports]
        for base in bases:
            deadline = time.monotonic() + 20
            while True:
                try:
                    if httpx.get(f"{base}/accounts/login/").status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                assert time.monotonic() < deadline, f"{base} did not start"
                time.sleep(0.2)
        alice = login(bases[0], "alice")
        bob = login(bases[1], "bob")
        result = {}
        reader = threading.Thread(
            target=lambda: result.update(events=read_events(alice, want=1, timeout=10))
        )
        reader.start()
        time.sleep(0.5)
        started = time.monotonic()
        post_message(bob, "Across processes", path=THREAD)
        reader.join(timeout=10)
        assert time.monotonic() - started < 2
        (event,) = result["events"]
        assert event["event"] == "message.posted"
        assert json.loads(event["data"])["excerpt"] == "Across processes"
    finally:
        for server in servers:
            server.terminate()
            server.wait(timeout=10)


def test_under_wsgi_the_stream_declines_so_pages_poll(client_for):
    """A WSGI server would be held for good by an endless response: 204 tells the
    browser's EventSource to stop, and the icon keeps polling."""
    response = client_for("alice").get("/messages/live/")

    assert response.status_code == 204


def test_a_stream_ends_when_its_token_is_revoked(asgi_server, demo, broker, settings):
    from order_messages.actions import create_token, revoke_token

    settings.ORDER_MESSAGES_LIVE_HEARTBEAT = 0.2
    row, token = create_token(user=demo["bob"], name="Phone")
    app = httpx.Client(base_url=asgi_server, headers={"Authorization": f"Bearer {token}"})
    ended = threading.Event()

    def listen():
        with app.stream("GET", "/messages/live/", timeout=10) as response:
            for _line in response.iter_lines():
                pass
        ended.set()

    threading.Thread(target=listen, daemon=True).start()
    time.sleep(0.5)
    assert not ended.is_set()
    revoke_token(user=demo["bob"], token_id=row.pk)

    assert ended.wait(timeout=3), "the stream went on after the token was revoked"


def test_after_a_logout_a_busy_stream_sends_nothing_more_and_ends(
    asgi_server, demo, broker, settings
):
    """Events keep coming, so no heartbeat is due: the session is asked before each event
    all the same, and the first one after the logout ends the stream unsent."""
    settings.ORDER_MESSAGES_LIVE_HEARTBEAT = 60
    bob = login(asgi_server, "bob")
    alice = login(asgi_server, "alice")
    received, ended = [], threading.Event()

    def listen():
        with bob.stream("GET", "/messages/live/", timeout=20) as response:
            for line in response.iter_lines():
                if line.startswith("data:"):
                    received.append(json.loads(line.partition(":")[2]))
        ended.set()

    threading.Thread(target=listen, daemon=True).start()
    time.sleep(0.5)
    post_message(alice, "Before the logout")
    deadline = time.monotonic() + 5
    while not any(e.get("excerpt") == "Before the logout" for e in received):
        assert time.monotonic() < deadline, received
        time.sleep(0.05)
    # Bob logs out in another tab: the same session, ended.
    session = {name: bob.cookies[name] for name in ("sessionid", "csrftoken")}
    other_tab = httpx.Client(base_url=asgi_server, cookies=session, timeout=10)
    response = other_tab.post(
        "/accounts/logout/", data={"csrfmiddlewaretoken": session["csrftoken"]}
    )
    assert response.status_code == 302
    post_message(alice, "Your replacement code is 4711.")

    assert ended.wait(timeout=5), "the stream went on after the logout"
    assert not any("4711" in json.dumps(e) for e in received)


def test_a_redis_url_without_the_redis_package_fails_the_system_check(settings, monkeypatch):
    """Redis is an extra: a store that sets REDIS_URL without it is told at `check`, and
    the broker says what to install rather than failing at the first message."""
    import sys

    from django.core.exceptions import ImproperlyConfigured

    from order_messages.checks import check_live_settings
    from order_messages.live import RedisBroker

    assert check_live_settings(None) == []  # no REDIS_URL in the demo
    settings.ORDER_MESSAGES_REDIS_URL = "redis://127.0.0.1:6379/15"
    assert check_live_settings(None) == []  # installed here
    monkeypatch.setitem(sys.modules, "redis", None)  # as if it were not
    assert [error.id for error in check_live_settings(None)] == ["order_messages.E011"]
    with pytest.raises(ImproperlyConfigured, match=r"django-order-messages\[redis\]"):
        RedisBroker("redis://127.0.0.1:6379/15", 10, "om-test")
