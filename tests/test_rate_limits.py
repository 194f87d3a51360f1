"""Posting is rate-limited (ORDER_MESSAGES_POST_RATE_LIMIT = (posts, seconds)): messages and
dispute openings through the pages and the API, per person (a guest: per order), counted
from the messages table. Over the limit: 429 with Retry-After and nothing stored. Replies by
e-mail have their own per-sender limit: tests/test_inbound.py::test_each_sender_has_a_rate_limit
and ::test_the_pipe_command_asks_the_mta_to_retry_when_rate_limited (EX_TEMPFAIL)."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from order_messages import actions
from order_messages.actions import create_token
from order_messages.conf import DEFAULTS
from order_messages.errors import DisputeAlreadyOpen, Throttled
from order_messages.guest import make_guest_token
from order_messages.models import (
    Conversation,
    Dispute,
    IdempotentRequest,
    Message,
    Notification,
    UnreadCounter,
)
from order_messages.ratelimit import check_dispute_rate
from tests.conftest import assert_counters_exact, conversation_of, snapshot

pytestmark = pytest.mark.usefixtures("no_conversations")

THREAD = "/messages/orders/1002/bobs-bikes/"
API = "/api/v1/orders/1002/conversations/bobs-bikes"
TOO_QUICK = "You are writing too quickly."


@pytest.fixture
def limit(settings):
    """``limit(3)``: three posts a minute."""

    def set_limit(posts, seconds=60):
        settings.ORDER_MESSAGES_POST_RATE_LIMIT = (posts, seconds)

    return set_limit


@pytest.fixture
def api(demo):
    """``api("alice").post(path, data, headers)`` with her API token."""

    class Caller:
        def __init__(self, username):
            _row, token = create_token(user=demo[username], name="rate")
            self.headers = {"Authorization": f"Bearer {token}"}

        def post(self, path, data, headers=None):
            return Client().post(
                path,
                data,
                content_type="application/json",
                headers={**self.headers, **(headers or {})},
            )

    return Caller


def age_messages(*, by, seconds):
    """Make everything ``by`` wrote look ``seconds`` older."""
    for message in Message.objects.filter(author=by):
        Message.objects.filter(pk=message.pk).update(
            created_at=message.created_at - timedelta(seconds=seconds)
        )


def test_the_default_lets_a_person_chat_quickly_and_stops_a_flood(client_for, settings):
    assert DEFAULTS["POST_RATE_LIMIT"] == (20, 60)
    assert not hasattr(settings, "ORDER_MESSAGES_POST_RATE_LIMIT")  # the demo keeps it
    alice = client_for("alice")

    answers = [alice.post(THREAD, {"body": f"Quick {n}"}).status_code for n in range(21)]

    assert answers == [302] * 20 + [429]
    assert Message.objects.filter(body__startswith="Quick").count() == 20


def test_over_the_limit_the_page_says_when_to_try_again_and_keeps_the_text(client_for, limit):
    limit(3)
    alice = client_for("alice")
    for n in range(3):
        assert alice.post(THREAD, {"body": f"Message {n}"}).status_code == 302
    before = snapshot()

    response = alice.post(THREAD, {"body": "One too many"})

    assert response.status_code == 429
    assert 55 <= int(response["Retry-After"]) <= 60
    page = response.content.decode()
    assert TOO_QUICK in page and "Please try again in" in page
    assert "One too many</textarea>" in page
    assert snapshot() == before


def test_with_htmx_the_composer_shows_the_error_in_place(client_for, limit):
    limit(1)
    alice = client_for("alice")
    alice.post(THREAD, {"body": "First"})

    response = alice.post(THREAD, {"body": "Second"}, headers={"HX-Request": "true"})

    assert response.status_code == 429 and response["Retry-After"]
    page = response.content.decode()
    assert TOO_QUICK in page and "<html" not in page
    assert not Message.objects.filter(body="Second").exists()


def test_over_the_limit_the_api_answers_429_throttled_and_stores_nothing(api, demo, limit):
    limit(2)
    alice = api("alice")
    for n in range(2):
        assert alice.post(f"{API}/messages", {"body": f"Message {n}"}).status_code == 201
    before = snapshot()
    key = {"Idempotency-Key": "retry-me"}

    response = alice.post(f"{API}/messages", {"body": "Third"}, headers=key)

    assert response.status_code == 429
    assert response.json()["error"]["code"] == "throttled"
    assert TOO_QUICK in response.json()["error"]["message"]
    assert 1 <= int(response["Retry-After"]) <= 60
    assert snapshot() == before
    assert not IdempotentRequest.objects.exists()  # the key is free for the retry

    age_messages(by=demo["alice"], seconds=61)
    retried = alice.post(f"{API}/messages", {"body": "Third"}, headers=key)
    assert retried.status_code == 201
    assert Message.objects.filter(body="Third").count() == 1


def test_retry_after_is_when_the_oldest_post_leaves_the_window(api, demo, limit):
    limit(2, seconds=60)
    alice = api("alice")
    alice.post(f"{API}/messages", {"body": "Older"})
    age_messages(by=demo["alice"], seconds=45)
    alice.post(f"{API}/messages", {"body": "Newer"})

    response = alice.post(f"{API}/messages", {"body": "Too soon"})

    # "Older" leaves the window 15 seconds from now (rounded up).
    assert response.status_code == 429
    assert int(response["Retry-After"]) in (15, 16)


def test_posts_older_than_the_window_do_not_count(client_for, demo, limit):
    limit(2)
    alice = client_for("alice")
    alice.post(THREAD, {"body": "One"})
    alice.post(THREAD, {"body": "Two"})
    age_messages(by=demo["alice"], seconds=60)

    assert alice.post(THREAD, {"body": "Three"}).status_code == 302


@pytest.mark.parametrize("through", ["page", "api"])
def test_opening_a_dispute_counts_and_is_limited(client_for, api, limit, through):
    limit(2)
    client_for("alice").post(THREAD, {"body": "Where is my bike?"})
    client_for("alice").post(THREAD, {"body": "Hello?"})
    before = snapshot()

    if through == "page":
        response = client_for("alice").post(f"{THREAD}dispute/open/", {"reason": "No answer"})
        assert TOO_QUICK in response.content.decode()
    else:
        response = api("alice").post(f"{API}/dispute", {"reason": "No answer"})
        assert response.json()["error"]["code"] == "throttled"

    assert response.status_code == 429 and response["Retry-After"]
    assert not Dispute.objects.exists()
    assert snapshot() == before


def test_a_dispute_opening_spends_one_post(client_for, limit, post):
    post("bob", "1002", "bobs-bikes", "Your order left today.")  # Bob's post, not Alice's
    limit(2)
    alice = client_for("alice")
    assert alice.post(f"{THREAD}dispute/open/", {"reason": "Broken"}).status_code == 302

    assert alice.post(THREAD, {"body": "Photo follows"}).status_code == 302
    assert alice.post(THREAD, {"body": "And another"}).status_code == 429


def test_the_limit_is_per_person(client_for, limit):
    limit(1)
    assert client_for("alice").post(THREAD, {"body": "Alice"}).status_code == 302
    assert client_for("alice").post(THREAD, {"body": "Alice again"}).status_code == 429

    assert client_for("bob").post(THREAD, {"body": "Bob answers"}).status_code == 302
    assert client_for("admin").post(THREAD, {"body": "The store too"}).status_code == 302
    assert (
        client_for("carol").post("/messages/orders/1005/bobs-bikes/", {"body": "Carol"}).status_code
        == 302
    )


def guest_client(order) -> Client:
    client = Client()
    assert client.get(f"/messages/guest/{make_guest_token(order('1006'))}/").status_code == 302
    return client


def test_a_guest_is_limited_per_order_and_the_vendor_is_not(client_for, order, limit):
    limit(2)
    guest, path = guest_client(order), "/messages/orders/1006/daves-outdoor/"
    assert guest.post(path, {"body": "Guest 1"}).status_code == 302
    # Another browser with the same link is the same guest: the order is what counts.
    assert guest_client(order).post(path, {"body": "Guest 2"}).status_code == 302

    refused = guest.post(path, {"body": "Guest 3"})

    assert refused.status_code == 429 and TOO_QUICK in refused.content.decode()
    assert not Message.objects.filter(body="Guest 3").exists()
    assert client_for("dave").post(path, {"body": "Dave answers"}).status_code == 302


def test_none_turns_the_limit_off(api, settings):
    settings.ORDER_MESSAGES_POST_RATE_LIMIT = None
    alice = api("alice")

    answers = {alice.post(f"{API}/messages", {"body": f"Bulk {n}"}).status_code for n in range(40)}

    assert answers == {201}
    assert Message.objects.filter(body__startswith="Bulk").count() == 40


def test_the_check_costs_one_indexed_read_and_on_postgresql_one_lock(access_as, limit):
    access = access_as("alice", "1002")
    sub_order = access.sub_order("bobs-bikes")
    actor = access.actor_in(sub_order)
    limit(50)

    def post(limited):
        with CaptureQueriesContext(connection) as captured:
            actions.post_message(
                order=access.order,
                sub_order=sub_order,
                actor=actor,
                body="Hi",
                limit_rate=limited,
            )
        return [q["sql"] for q in captured.captured_queries]

    post(limited=False)  # the first post starts the conversation
    plain, limited = post(limited=False), post(limited=True)

    reads = [sql for sql in limited if '"order_messages_message"."created_at" >' in sql]
    locks = [sql for sql in limited if "pg_advisory_xact_lock" in sql]
    assert len(reads) == 1 and "LIMIT 50" in reads[0]
    assert len(locks) == (1 if connection.vendor == "postgresql" else 0)
    # Nothing else: the check runs in the post's own transaction.
    assert len(limited) - len(plain) == len(reads) + len(locks)


@pytest.mark.django_db(transaction=True)
def test_concurrent_posts_by_one_person_never_pass_the_limit(demo, api, settings):
    """Ten posts at the same moment, each in its own thread and database connection, on
    four free places: exactly four are stored."""
    if connection.vendor != "postgresql":
        pytest.skip("needs a database that serves several connections at once")
    settings.ORDER_MESSAGES_POST_RATE_LIMIT = (4, 60)
    Message.objects.filter(author=demo["alice"]).delete()
    alice = api("alice")
    start = threading.Barrier(10)
    answers = []

    def send(n):
        try:
            start.wait()
            answers.append(alice.post(f"{API}/messages", {"body": f"Race {n}"}).status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=send, args=(n,)) for n in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert sorted(answers) == [201] * 4 + [429] * 6
    assert Message.objects.filter(body__startswith="Race").count() == 4
    assert_counters_exact()


# -- disputes: one limit per conversation (ORDER_MESSAGES_DISPUTE_RATE_LIMIT) ------------------


@pytest.fixture
def dispute_limit(settings):
    """``dispute_limit(2)``: two dispute changes an hour in each conversation. The posting
    limit is off, so only the dispute limit can refuse."""
    settings.ORDER_MESSAGES_POST_RATE_LIMIT = None

    def set_limit(events, seconds=3600):
        settings.ORDER_MESSAGES_DISPUTE_RATE_LIMIT = (events, seconds)

    return set_limit


def dispute_events():
    return list(
        Message.objects.filter(kind__in=Message.DISPUTE_KINDS)
        .order_by("seq")
        .values_list("kind", "seq")
    )


def age_dispute_events(*, seconds):
    for message in Message.objects.filter(kind__in=Message.DISPUTE_KINDS):
        Message.objects.filter(pk=message.pk).update(
            created_at=message.created_at - timedelta(seconds=seconds)
        )


def test_by_default_a_dispute_changes_four_times_an_hour_then_stops(post, dispute, settings, demo):
    """The flood of the issue: open and close, by the customer and the store in turn, twelve
    times in seconds, was twelve unmutable e-mails to each of the vendor, the staff and the
    store's address."""
    assert DEFAULTS["DISPUTE_RATE_LIMIT"] == (4, 3600)
    assert not hasattr(settings, "ORDER_MESSAGES_DISPUTE_RATE_LIMIT")  # the demo keeps it
    post("alice", "1002", "bobs-bikes", "Where is my bike?")
    steps = [("open", "alice"), ("close", "admin")] * 6
    outcomes = []
    for step, who in steps:
        try:
            if step == "open":
                done = dispute.open(who, "1002", "bobs-bikes", "Again")
            else:
                done = dispute.close(who, "1002", "bobs-bikes")
        except Throttled as error:
            assert 3590 <= error.retry_after <= 3600
            outcomes.append("throttled")
        else:
            outcomes.append(step if done else "nothing to close")

    assert outcomes == ["open", "close"] * 2 + ["throttled", "nothing to close"] * 4
    assert len(dispute_events()) == 4
    assert Dispute.objects.count() == 2
    assert_counters_exact()


def test_a_refused_dispute_change_stores_nothing(post, dispute, dispute_limit):
    dispute_limit(2)
    post("alice", "1002", "bobs-bikes", "Hello")
    dispute.open("alice", "1002", "bobs-bikes", "Broken")
    dispute.close("admin", "1002", "bobs-bikes")
    before = snapshot()
    notifications = Notification.objects.count()

    with pytest.raises(Throttled):
        dispute.open("admin", "1002", "bobs-bikes", "The store reopens it")

    assert snapshot() == before
    assert Notification.objects.count() == notifications


def test_closing_counts_and_is_limited_too(post, dispute, dispute_limit):
    dispute_limit(1)
    post("alice", "1002", "bobs-bikes", "Hello")
    dispute.open("alice", "1002", "bobs-bikes", "Broken")

    with pytest.raises(Throttled):
        dispute.close("alice", "1002", "bobs-bikes")

    assert conversation_of("1002", "bobs-bikes").open_dispute is not None


def test_the_limit_is_per_conversation(post, dispute, dispute_limit):
    dispute_limit(1)
    dispute.open("alice", "1002", "bobs-bikes", "Broken")
    with pytest.raises(Throttled):
        dispute.close("alice", "1002", "bobs-bikes")

    dispute.open("alice", "1001", "bobs-bikes", "Wrong helmet")  # another conversation

    assert len(dispute_events()) == 2


def test_what_is_not_a_change_is_not_refused_as_too_quick(post, dispute, dispute_limit):
    """Opening a second dispute is refused for that reason, closing none does nothing:
    neither is answered with "try again later"."""
    dispute_limit(2)
    dispute.open("alice", "1002", "bobs-bikes", "Broken")
    with pytest.raises(DisputeAlreadyOpen):
        dispute.open("alice", "1002", "bobs-bikes", "Still broken")
    dispute.close("admin", "1002", "bobs-bikes")

    assert dispute.close("admin", "1002", "bobs-bikes") is None
    assert len(dispute_events()) == 2


def test_dispute_changes_older_than_the_window_do_not_count(post, dispute, dispute_limit):
    dispute_limit(2, seconds=600)
    dispute.open("alice", "1002", "bobs-bikes", "Broken")
    dispute.close("admin", "1002", "bobs-bikes")
    with pytest.raises(Throttled):
        dispute.open("alice", "1002", "bobs-bikes", "Again")

    age_dispute_events(seconds=601)

    dispute.open("alice", "1002", "bobs-bikes", "Again")
    assert [kind for kind, _seq in dispute_events()][-1] == Message.Kind.DISPUTE_OPENED


def test_retry_after_is_when_the_oldest_change_leaves_the_window(post, dispute, dispute_limit):
    dispute_limit(2, seconds=600)
    dispute.open("alice", "1002", "bobs-bikes", "Broken")
    age_dispute_events(seconds=500)
    dispute.close("admin", "1002", "bobs-bikes")

    with pytest.raises(Throttled) as refused:
        dispute.open("alice", "1002", "bobs-bikes", "Again")

    # The opening leaves the window 100 seconds from now (rounded up).
    assert refused.value.retry_after in (100, 101)


def test_messages_do_not_count_against_the_dispute_limit(post, dispute, dispute_limit):
    dispute_limit(2)
    for n in range(5):
        post("alice", "1002", "bobs-bikes", f"Message {n}")

    dispute.open("alice", "1002", "bobs-bikes", "Broken")
    dispute.close("admin", "1002", "bobs-bikes")

    assert len(dispute_events()) == 2


def test_none_turns_the_dispute_limit_off(post, dispute, settings):
    settings.ORDER_MESSAGES_DISPUTE_RATE_LIMIT = None
    for _round in range(5):
        dispute.open("alice", "1002", "bobs-bikes", "Again")
        dispute.close("admin", "1002", "bobs-bikes")

    assert len(dispute_events()) == 10


def test_over_the_dispute_limit_the_page_answers_429_and_keeps_the_reason(
    client_for, dispute, dispute_limit
):
    dispute_limit(2)
    dispute.open("alice", "1002", "bobs-bikes", "Broken")
    dispute.close("admin", "1002", "bobs-bikes")
    before = snapshot()

    response = client_for("alice").post(f"{THREAD}dispute/open/", {"reason": "Broken again"})

    assert response.status_code == 429
    assert 3590 <= int(response["Retry-After"]) <= 3600
    page = response.content.decode()
    assert "Please try again in" in page
    assert "Broken again</textarea>" in page
    assert snapshot() == before


@pytest.mark.parametrize("step", ["open", "close"])
def test_over_the_dispute_limit_the_api_answers_429_throttled(api, dispute, dispute_limit, step):
    dispute_limit(2 if step == "open" else 3)
    dispute.open("alice", "1002", "bobs-bikes", "Broken")
    dispute.close("admin", "1002", "bobs-bikes")
    if step == "close":
        dispute.open("alice", "1002", "bobs-bikes", "Broken again")
    before = snapshot()

    path = f"{API}/dispute" if step == "open" else f"{API}/dispute/close"
    response = api("alice").post(path, {"reason": "Again"} if step == "open" else {})

    assert response.status_code == 429
    assert response.json()["error"]["code"] == "throttled"
    assert "Please try again in" in response.json()["error"]["message"]
    assert 1 <= int(response["Retry-After"]) <= 3600
    assert snapshot() == before


def test_over_the_dispute_limit_the_close_page_answers_429(client_for, dispute, dispute_limit):
    dispute_limit(1)
    dispute.open("alice", "1002", "bobs-bikes", "Broken")

    response = client_for("admin").post(f"{THREAD}dispute/close/", {"outcome": "rejected"})

    assert response.status_code == 429 and response["Retry-After"]
    assert "Please try again in" in response.content.decode()
    assert conversation_of("1002", "bobs-bikes").open_dispute is not None


def test_the_dispute_check_is_one_read_of_the_conversations_own_messages(
    post, dispute, dispute_limit
):
    dispute_limit(3)
    post("alice", "1002", "bobs-bikes", "Hello")
    conversation = conversation_of("1002", "bobs-bikes")

    with CaptureQueriesContext(connection) as captured:
        check_dispute_rate(conversation=conversation)

    (sql,) = [q["sql"] for q in captured.captured_queries]
    assert f'"order_messages_message"."conversation_id" = {conversation.pk}' in sql
    assert 'ORDER BY "order_messages_message"."seq" DESC' in sql and "LIMIT 3" in sql


@pytest.mark.django_db(transaction=True)
def test_concurrent_dispute_changes_never_pass_the_limit(demo, api, settings):
    """Ten clients opening and closing the same dispute at the same moment, each in its own
    thread and database connection, on three free places: exactly three changes are
    stored; every other try is refused, as throttled or as not a change."""
    if connection.vendor != "postgresql":
        pytest.skip("needs a database that serves several connections at once")
    settings.ORDER_MESSAGES_POST_RATE_LIMIT = None
    settings.ORDER_MESSAGES_DISPUTE_RATE_LIMIT = (3, 3600)
    Conversation.objects.all().delete()
    UnreadCounter.objects.all().delete()
    alice = api("alice")
    alice.post(f"{API}/messages", {"body": "Hello"})
    start = threading.Barrier(10)
    answers = []

    def change(n):
        try:
            start.wait()
            for attempt in range(4):
                if (n + attempt) % 2:
                    response = alice.post(f"{API}/dispute", {"reason": f"Race {n}"})
                else:
                    response = alice.post(f"{API}/dispute/close", {})
                answers.append(response.status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=change, args=(n,)) for n in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert len(answers) == 40
    assert Message.objects.filter(kind__in=Message.DISPUTE_KINDS).count() == 3
    assert answers.count(201) + answers.count(200) == 3
    assert answers.count(429) >= 1
    assert set(answers) <= {200, 201, 409, 429}
    assert_counters_exact()
