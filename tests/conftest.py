import os
import sqlite3
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection, transaction
from django.db.models import Sum
from django.test import Client, override_settings
from django.utils import timezone

from order_messages import actions
from order_messages.adapter import get_adapter
from order_messages.models import (
    Conversation,
    Dispute,
    Message,
    Participant,
    Role,
    UnreadCounter,
)
from order_messages.queries import access_order

FAST_HASHERS = [
    # Seeding hashes five passwords; PBKDF2 would take seconds. The second entry still
    # verifies hashes made without the override.
    "django.contrib.auth.hashers.MD5PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]


def fuzz_examples(n: int) -> int:
    """Examples for a Hypothesis test: ``n`` in ``make test``, FUZZ_SCALE times as many in
    the long run (``make reliability``)."""
    return n * int(os.environ.get("FUZZ_SCALE") or 1)


def seed_demo():
    call_command("seed_demo", "--no-history", stdout=StringIO())


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    """Seed the test database once; each test then runs in a transaction over the seed."""
    with django_db_blocker.unblock(), override_settings(PASSWORD_HASHERS=FAST_HASHERS):
        seed_demo()


@pytest.fixture(scope="session", autouse=True)
def attachment_files(tmp_path_factory):
    """Uploaded files go to a folder of the test run, not the demo's media/."""
    with override_settings(MEDIA_ROOT=str(tmp_path_factory.mktemp("media"))):
        yield


@pytest.fixture(autouse=True)
def shop_language():
    """Each test starts in the shop's language, whatever a request before it activated
    (an API call in German leaves German active in the thread)."""
    from django.utils import translation

    translation.activate("en")
    yield
    translation.deactivate()


@pytest.fixture
def fast_passwords(settings):
    settings.PASSWORD_HASHERS = FAST_HASHERS


@pytest.fixture
def demo(db, fast_passwords):
    """The demo marketplace's data (seed_demo): users by username."""
    from django.contrib.auth import get_user_model

    users = {u.username: u for u in get_user_model().objects.all()}
    if "admin" not in users:  # a transactional test before this one emptied the database
        seed_demo()
        users = {u.username: u for u in get_user_model().objects.all()}
    return users


@pytest.fixture
def no_conversations(demo):
    """The demo store without the conversations seed_demo starts, for tests that count
    from zero whatever the seed writes."""
    Conversation.objects.all().delete()  # with their participants, messages and disputes
    UnreadCounter.objects.all().delete()
    return demo


@pytest.fixture
def client_for(demo):
    """A logged-in test client for a demo user: ``client_for("alice")``."""

    def make(username):
        client = Client()
        client.force_login(demo[username])
        return client

    return make


@pytest.fixture
def order_access(demo):
    """``order_access("alice", "1001")``: what that user may see of that order."""

    def make(username, number):
        return access_order(user=demo[username], order_number=number)

    return make


@pytest.fixture
def order():
    def get(number):
        return get_adapter().get_order(number)

    return get


# -- acting as demo users -------------------------------------------------------------------


def guest_grant(number: str) -> dict[str, str]:
    """What a browser holds after following the guest link of an order: its number and the
    address the link was issued to (the order's, now)."""
    return {number: get_adapter().get_order(number).customer_email}


@pytest.fixture
def access_as(demo):
    """``access_as("alice", "1001")``; ``access_as(None, "1006")`` is the guest who holds a
    link to that order."""

    def make(username, number):
        if username is None:
            return access_order(user=None, order_number=number, guests=guest_grant(number))
        return access_order(user=demo[username], order_number=number)

    return make


@pytest.fixture
def post(access_as):
    """``post("alice", "1001", "bobs-bikes", "Hello")``: post through the action, as the
    HTML view does."""

    def make(username, number, vendor_key, body="Hello"):
        access = access_as(username, number)
        sub_order = access.sub_order(vendor_key)
        return actions.post_message(
            order=access.order, sub_order=sub_order, actor=access.actor_in(sub_order), body=body
        )

    return make


@pytest.fixture
def dispute(access_as):
    """``dispute.open("alice", "1002", "bobs-bikes", "Broken", reason_code="damaged")`` and
    ``dispute.close("admin", "1002", "bobs-bikes")``."""

    class Disputes:
        @staticmethod
        def open(username, number, vendor_key, reason="It arrived broken.", **choices):
            access = access_as(username, number)
            sub_order = access.sub_order(vendor_key)
            return actions.open_dispute(
                order=access.order,
                sub_order=sub_order,
                actor=access.actor_in(sub_order),
                reason=reason,
                **choices,
            )

        @staticmethod
        def close(username, number, vendor_key, outcome=None, note=""):
            """Store staff resolve it (as "rejected" unless told); a customer withdraws."""
            access = access_as(username, number)
            sub_order = access.sub_order(vendor_key)
            actor = access.actor_in(sub_order)
            if outcome is None and actor.role == "staff":
                outcome = "rejected"
            return actions.close_dispute(
                conversation=conversation_of(number, vendor_key),
                actor=actor,
                outcome=outcome,
                note=note,
            )

    return Disputes


def conversation_of(number, vendor_key):
    return Conversation.objects.get(order_number=number, vendor_key=vendor_key)


def unread_of(user, number, vendor_key):
    """A participant's stored unread count, or None when the user is not a participant."""
    return (
        Participant.objects.filter(
            user=user, conversation__order_number=number, conversation__vendor_key=vendor_key
        )
        .values_list("unread_count", flat=True)
        .first()
    )


def counter_of(user):
    return UnreadCounter.objects.filter(pk=user.pk).values_list("count", flat=True).first() or 0


def assert_counters_exact():
    """Every stored count equals a recount from the messages (SPEC 9, "counters are exact"):
    a participant's unread count is the messages after the last one they read (their own
    too: marking unread moves that mark back over whatever message is last), as
    check_unread_counts recounts it; a user's UnreadCounter is the sum over their
    conversations; seq is 1..N."""
    problems = []
    for c in Conversation.objects.all():
        seqs = list(c.messages.order_by("seq").values_list("seq", flat=True))
        if seqs != list(range(1, c.last_seq + 1)):
            problems.append(f"{c}: seq {seqs} but last_seq {c.last_seq}")
    for p in Participant.objects.select_related("conversation"):
        recount = Message.objects.filter(
            conversation=p.conversation_id, seq__gt=p.last_read_seq
        ).count()
        if p.unread_count != recount:
            problems.append(f"{p}: unread_count {p.unread_count}, recount {recount}")
        if p.last_read_seq > p.conversation.last_seq:
            problems.append(f"{p}: read up to {p.last_read_seq} of {p.conversation.last_seq}")
    sums = dict(
        Participant.objects.values_list("user_id").annotate(n=Sum("unread_count")).order_by()
    )
    counters = dict(UnreadCounter.objects.values_list("user_id", "count"))
    for user_id in sums.keys() | counters.keys():
        if counters.get(user_id) != (sums.get(user_id) or 0):
            stored, recount = counters.get(user_id), sums.get(user_id)
            problems.append(f"user {user_id}: UnreadCounter {stored}, recount {recount}")
    assert not problems, "\n".join(problems)


# -- many rows quickly ----------------------------------------------------------------------


def make_store_orders(*, numbers, customer, vendor_key):
    """Orders of ``customer`` in the demo store, each with one item of the vendor's."""
    from demo.store.models import Order, OrderItem, Product

    product = Product.objects.filter(vendor__slug=vendor_key).select_related("vendor").first()
    orders = Order.objects.bulk_create(
        [
            Order(
                number=number,
                customer=customer,
                email=customer.email,
                name=customer.get_full_name(),
                placed_at=timezone.now(),
            )
            for number in numbers
        ]
    )
    OrderItem.objects.bulk_create(
        [
            OrderItem(
                order=order,
                product=product,
                vendor=product.vendor,
                name=product.name,
                price=product.price,
            )
            for order in orders
        ]
    )


def make_conversations(
    *,
    customer,
    vendor_user,
    count,
    unread=0,
    start=9000,
    at=None,
    vendor=("bobs-bikes", "Bob's Bikes"),
):
    """``count`` one-message conversations of ``customer`` with ``vendor_user``, written in
    bulk with consistent counters: the newest ``unread`` ones are unread for the customer.
    Their orders are written into the demo store too (one item of the vendor's each), as
    the policy asks the store who may read them."""
    at = at or timezone.now()
    make_store_orders(
        numbers=[str(start + i) for i in range(count)], customer=customer, vendor_key=vendor[0]
    )
    conversations = Conversation.objects.bulk_create(
        [
            Conversation(
                order_number=str(start + i),
                vendor_key=vendor[0],
                vendor_name=vendor[1],
                customer=customer,
                customer_email=customer.email,
                customer_name=customer.get_full_name(),
                last_seq=1,
                last_message_at=at - timedelta(minutes=i),
                last_message_excerpt=f"About order {start + i}",
            )
            for i in range(count)
        ]
    )
    Message.objects.bulk_create(
        [
            Message(
                conversation=c,
                seq=1,
                author=vendor_user,
                author_role=Role.VENDOR,
                author_name=vendor_user.get_full_name(),
                body=c.last_message_excerpt,
            )
            for c in conversations
        ]
    )
    rows = []
    for i, c in enumerate(conversations):
        is_unread = i < unread
        rows.append(
            Participant(
                conversation=c,
                user=customer,
                role=Role.CUSTOMER,
                unread_count=1 if is_unread else 0,
                last_read_seq=0 if is_unread else 1,
                last_message_at=c.last_message_at,
            )
        )
        rows.append(
            Participant(
                conversation=c,
                user=vendor_user,
                role=Role.VENDOR,
                last_read_seq=1,
                last_message_at=c.last_message_at,
            )
        )
    Participant.objects.bulk_create(rows)
    for user in (customer, vendor_user):
        UnreadCounter.objects.get_or_create(user=user)
    UnreadCounter.objects.filter(user=customer).update(
        count=Participant.objects.filter(user=customer).aggregate(n=Sum("unread_count"))["n"]
    )
    return conversations


def grow_thread(conversation, *, count, author, role=Role.VENDOR):
    """Append ``count`` messages in bulk that every participant has already read."""
    first = conversation.last_seq + 1
    now = timezone.now()
    Message.objects.bulk_create(
        [
            Message(
                conversation=conversation,
                seq=seq,
                author=author,
                author_role=role,
                author_name=author.get_full_name(),
                body=f"Message {seq}",
            )
            for seq in range(first, first + count)
        ]
    )
    last = first + count - 1
    Conversation.objects.filter(pk=conversation.pk).update(last_seq=last, last_message_at=now)
    conversation.refresh_from_db()
    assert not Participant.objects.filter(conversation=conversation, unread_count__gt=0).exists()
    Participant.objects.filter(conversation=conversation).update(
        last_read_seq=last, last_message_at=now
    )
    return conversation


def write_messages(conversations, *, text: str) -> None:
    """In each conversation (of ``make_conversations``), alternately the customer and the
    vendor writes "``text`` in <order number>"."""
    from order_messages.actions.messages import append_message
    from order_messages.queries import Actor

    for i, conversation in enumerate(conversations):
        role = Role.CUSTOMER if i % 2 else Role.VENDOR
        author = Participant.objects.get(conversation=conversation, role=role).user
        with transaction.atomic():
            append_message(
                conversation=conversation,
                actor=Actor(author, role, author.get_full_name()),
                body=f"{text} in {conversation.order_number}",
            )


def make_thread(demo, post, total, unread_for_alice=0):
    """``total`` messages in 1002/bobs-bikes (which must have none yet: use
    ``no_conversations``); the last ``unread_for_alice`` are Bob's and unread for Alice."""
    post("alice", "1002", "bobs-bikes", "Message 1")
    conversation = conversation_of("1002", "bobs-bikes")
    actions.mark_read(conversation=conversation, user=demo["bob"])
    read = total - 1 - unread_for_alice
    if read:
        grow_thread(conversation, count=read, author=demo["bob"])
    for _ in range(unread_for_alice):
        post("bob", "1002", "bobs-bikes", "Unread")
    assert conversation_of("1002", "bobs-bikes").last_seq == total
    assert_counters_exact()


def deliver_notifications(*, after=None):
    """Run the notification worker as if the batching delay (``after``, default: two days,
    past any digest hour) had passed. Returns the worker's report."""
    from order_messages.notifications.worker import deliver_all

    return deliver_all(now=timezone.now() + (after or timedelta(days=2)))


@pytest.fixture
def sqlite_on_disk(tmp_path):
    """SQLite's test database lives in memory with a shared cache, where a connection
    that finds a table locked by another fails at once; a site runs SQLite on a file in
    WAL mode, where readers never wait and writers wait their turn (IMMEDIATE
    transactions, the demo settings' timeout). So what the test has written so far is
    copied to a file, and every connection opens that until the test ends."""
    if connection.vendor != "sqlite" or not connection.is_in_memory_db():
        yield
        return
    settings = connection.settings_dict
    in_memory = settings["NAME"]
    # An in-memory database ends with its last connection: this one keeps it meanwhile.
    keeper = sqlite3.connect(in_memory, uri=True)
    disk = sqlite3.connect(tmp_path / "test.sqlite3")
    keeper.backup(disk)
    disk.close()
    settings["NAME"] = str(tmp_path / "test.sqlite3")
    connection.close()
    yield
    connection.close()
    settings["NAME"] = in_memory
    connection.ensure_connection()
    keeper.close()


@pytest.fixture
def asgi_server(transactional_db, sqlite_on_disk):
    """The demo's ASGI application under uvicorn, in a thread of this process (so it sees
    the test database), as ``make demo`` serves it: with the live event stream."""
    import socket
    import threading
    import time

    import uvicorn

    from demo.asgi import application

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(
            application, host="127.0.0.1", port=port, lifespan="off", log_level="warning"
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline:
            pytest.fail("uvicorn did not start")
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    server.force_exit = True  # open event streams never end by themselves
    thread.join(timeout=10)


@pytest.fixture(scope="module")
def smtp_server():
    """A real SMTP server (tests/smtp.py) for the tests of one module."""
    from tests.smtp import SMTPServer

    server = SMTPServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def smtp(smtp_server, settings):
    """The SMTP server, empty and accepting, with Django's SMTP backend pointed at it."""
    smtp_server.start()  # a test may have stopped it
    smtp_server.reset()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = smtp_server.host
    settings.EMAIL_PORT = smtp_server.port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_TIMEOUT = 10
    yield smtp_server
    smtp_server.reset()


def snapshot():
    """Everything a request could change in the app's tables."""
    return {
        "conversations": list(
            Conversation.objects.order_by("pk").values_list(
                "pk", "last_seq", "open_dispute_id", "last_message_excerpt"
            )
        ),
        "messages": list(Message.objects.order_by("pk").values_list("pk", "body")),
        "participants": list(
            Participant.objects.order_by("pk").values_list(
                "pk", "user_id", "unread_count", "last_read_seq"
            )
        ),
        "disputes": list(Dispute.objects.order_by("pk").values_list("pk", "status")),
        "counters": list(UnreadCounter.objects.order_by("pk").values_list("pk", "count")),
    }
