"""Query counts where performance depends on them (SPEC 9): the badge is one primary-key
read, inbox and thread pages cost the same however much data there is."""

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from order_messages import queries
from tests.conftest import make_conversations, make_thread

pytestmark = pytest.mark.usefixtures("no_conversations")


def page_queries(client, path):
    """The SQL a page runs, after a first request has warmed caches (content types, ...)."""
    with CaptureQueriesContext(connection) as captured:
        response = client.get(path)
    assert response.status_code == 200, response.status_code
    return [q["sql"] for q in captured.captured_queries]


def logged_in(user):
    client = Client()
    client.force_login(user)
    return client


def assert_same(small, large):
    assert len(small) == len(large), "\n".join(["small:", *small, "large:", *large])


# -- the badge ------------------------------------------------------------------------------


def test_unread_total_is_one_query(demo, post, django_assert_num_queries):
    post("bob", "1001", "bobs-bikes")

    with django_assert_num_queries(1) as captured:
        assert queries.unread_total(demo["alice"]) == 1
    assert "order_messages_unreadcounter" in captured.captured_queries[0]["sql"]

    with django_assert_num_queries(1):
        assert queries.unread_total(demo["carol"]) == 0  # no counter row yet


def test_unread_total_of_an_anonymous_visitor_costs_nothing(db, django_assert_num_queries):
    from django.contrib.auth.models import AnonymousUser

    with django_assert_num_queries(0):
        assert queries.unread_total(AnonymousUser()) == 0


@pytest.mark.parametrize("path", ["/", "/messages/unread/"])
def test_a_page_with_the_messages_icon_costs_the_same_with_0_or_many_unread(demo, path):
    alice, carol = demo["alice"], demo["carol"]
    make_conversations(customer=carol, vendor_user=demo["bob"], count=40, unread=40)

    none = page_queries(logged_in(alice), path)
    many_client = logged_in(carol)
    many = page_queries(many_client, path)

    assert queries.unread_total(carol) == 40
    assert ">40<" in many_client.get(path).content.decode()
    assert_same(none, many)
    # The header shows the count twice (icon and account menu) but reads it once.
    assert sum("order_messages_unreadcounter" in sql for sql in many) == 1


def test_my_orders_costs_the_same_with_0_or_many_unread(demo, post):
    client = logged_in(demo["alice"])
    none = page_queries(client, "/orders/")

    for _ in range(5):
        post("bob", "1001", "bobs-bikes")
        post("dave", "1003", "daves-outdoor")
        post("admin", "1004", "store")
    many = page_queries(client, "/orders/")

    assert "5 unread messages" in client.get("/orders/").content.decode()
    assert_same(none, many)


# -- the inbox --------------------------------------------------------------------------------


def test_the_inbox_costs_the_same_with_3_or_60_conversations(demo):
    bob = demo["bob"]
    make_conversations(customer=demo["alice"], vendor_user=bob, count=3, unread=2)
    make_conversations(customer=demo["carol"], vendor_user=bob, count=60, unread=2, start=8000)

    small = page_queries(logged_in(demo["alice"]), "/messages/")
    large = page_queries(logged_in(demo["carol"]), "/messages/")

    assert_same(small, large)


def test_a_deep_inbox_page_costs_no_more_than_the_first(demo):
    bob = demo["bob"]
    make_conversations(customer=demo["alice"], vendor_user=bob, count=3, unread=2)
    make_conversations(customer=demo["carol"], vendor_user=bob, count=60, unread=45, start=8000)
    small = page_queries(logged_in(demo["alice"]), "/messages/")
    carol = logged_in(demo["carol"])

    cursors, after = [], None
    for _ in range(3):
        page = queries.inbox_page(user=demo["carol"], cursor=after)
        after = page.next_cursor
        cursors.append(after)
    crossing = page_queries(carol, f"/messages/?after={cursors[1]}")  # rows 41..60
    read_only = page_queries(carol, f"/messages/?after={cursors[0].replace('u', 'r', 1)}")

    assert cursors[1].startswith("u")
    assert_same(small, crossing)
    assert len(read_only) <= len(small)


# -- thread pages -----------------------------------------------------------------------------


@pytest.mark.parametrize("unread", [0, 2])
@pytest.mark.parametrize("username", ["alice", "bob", "admin"])
def test_a_thread_page_costs_the_same_with_5_or_300_messages(
    demo, post, no_conversations, username, unread
):
    from order_messages.models import Conversation, Message, Participant, UnreadCounter

    def measure(total):
        Conversation.objects.all().delete()
        UnreadCounter.objects.all().delete()
        make_thread(demo, post, total=total, unread_for_alice=unread)
        client = logged_in(demo[username])
        client.get("/")  # warm-up: the session and caches of a first request
        return page_queries(client, "/messages/orders/1002/bobs-bikes/")

    small = measure(5)
    large = measure(300)

    assert Message.objects.count() == 300
    assert_same(small, large)
    if username == "alice" and unread:
        assert not Participant.objects.filter(user=demo["alice"], unread_count__gt=0).exists()


# -- posting --------------------------------------------------------------------------------


def test_posting_costs_the_same_in_a_short_and_a_long_conversation(demo, post, access_as):
    from order_messages import actions

    def measure(number):
        access = access_as("alice", number)
        sub_order = access.sub_order("bobs-bikes")
        actor = access.actor_in(sub_order)
        with CaptureQueriesContext(connection) as captured:
            actions.post_message(order=access.order, sub_order=sub_order, actor=actor, body="Hi")
        return [q["sql"] for q in captured.captured_queries]

    post("alice", "1001", "bobs-bikes")
    post("bob", "1001", "bobs-bikes")
    for i in range(60):
        post("bob" if i % 2 else "alice", "1002", "bobs-bikes", f"Message {i}")

    short, long = measure("1001"), measure("1002")

    assert_same(short, long)
    # Alice is a participant already: nothing is inserted for her, only the message and
    # the e-mail to Bob's Bikes.
    inserted = [sql.split("(")[0] for sql in long if sql.startswith("INSERT")]
    assert not any("participant" in s or "unreadcounter" in s for s in inserted), inserted


def test_store_staff_posting_for_the_first_time_join_with_nothing_unread(demo, post):
    from order_messages.models import Participant, UnreadCounter

    post("alice", "1002", "bobs-bikes")
    post("admin", "1002", "bobs-bikes", "The store here: how can we help?")

    joined = Participant.objects.get(conversation__order_number="1002", user=demo["admin"])
    assert (joined.role, joined.unread_count, joined.last_read_seq) == ("staff", 0, 2)
    assert UnreadCounter.objects.get(user=demo["admin"]).count == 0
    alice = Participant.objects.get(conversation__order_number="1002", user=demo["alice"])
    assert alice.unread_count == 1


@pytest.mark.parametrize("username", ["alice", "admin"])
def test_a_thread_with_disputes_reads_their_history_in_one_query(
    demo, post, dispute, settings, username
):
    """The aside lists every dispute of the conversation: one query, only in a thread that
    had one (``dispute_count``), however many it had."""
    settings.ORDER_MESSAGES_DISPUTE_RATE_LIMIT = None
    path = "/messages/orders/1002/bobs-bikes/"
    client = logged_in(demo[username])
    post("alice", "1002", "bobs-bikes", "Hello")
    client.get("/")
    none = page_queries(client, path)

    dispute.open("alice", "1002", "bobs-bikes", "First")
    client.get(path)  # read what the dispute wrote
    one = page_queries(client, path)
    for _ in range(3):
        dispute.close("admin", "1002", "bobs-bikes", outcome="refunded")
        dispute.open("alice", "1002", "bobs-bikes", "Again")
    client.get(path)
    several = page_queries(client, path)

    def history(queries_run):
        return [sql for sql in queries_run if 'FROM "order_messages_dispute"' in sql]

    assert history(none) == []
    assert len(history(one)) == 1
    assert_same(one, several)
    assert len(one) == len(none) + 1, "\n".join(["none:", *none, "one:", *one])


def test_a_post_through_the_page_is_a_dozen_statements(demo, post):
    """Session, order, user and their vendors, the rate limit's read (and lock, on
    PostgreSQL), then the post: conversation, message, participants, the vendor's staff,
    unread counts, the recipient's e-mail batch and the badge counter. Whether a webhook
    endpoint listens comes back with the conversation's row: with none active, nothing
    more is asked."""
    from order_messages.models import WebhookDelivery

    post("alice", "1001", "bobs-bikes")
    post("bob", "1001", "bobs-bikes")
    client = logged_in(demo["alice"])
    url = "/messages/orders/1001/bobs-bikes/"
    client.post(url, {"body": "First"})

    with CaptureQueriesContext(connection) as captured:
        response = client.post(url, {"body": "Second"})

    assert response.status_code == 302
    statements = [
        q["sql"] for q in captured.captured_queries if "SAVEPOINT" not in q["sql"].upper()
    ]
    assert len(statements) == (13 if connection.vendor == "postgresql" else 12), statements
    asked = [sql for sql in statements if "webhookendpoint" in sql]
    assert len(asked) == 1 and asked[0].startswith('UPDATE "order_messages_conversation"')
    assert not WebhookDelivery.objects.exists()


def test_with_an_active_endpoint_a_post_also_writes_its_delivery(demo, post):
    from order_messages.models import WebhookDelivery, WebhookEndpoint

    WebhookEndpoint.objects.create(url="http://127.0.0.1:9/hook", secret="whsec_" + "a" * 32)
    post("alice", "1001", "bobs-bikes", "Hello")

    delivery = WebhookDelivery.objects.get()
    assert delivery.event_type == "message.posted"
    assert delivery.payload["data"]["message"]["body"] == "Hello"
