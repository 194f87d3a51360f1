"""The write paths: post_message, mark_read, open_dispute, close_dispute, and the signals
they send after commit."""

import datetime as dt

import pytest
import time_machine
from django.db import transaction

from order_messages import actions, signals
from order_messages.errors import (
    DisputeAlreadyOpen,
    EmptyMessage,
    MessageTooLong,
    ReasonRequired,
)
from order_messages.models import Conversation, Dispute, Message, Participant, Role
from tests.conftest import assert_counters_exact, conversation_of, counter_of, unread_of

pytestmark = pytest.mark.usefixtures("no_conversations")


def roles_of(conversation):
    return dict(
        Participant.objects.filter(conversation=conversation).values_list("user__username", "role")
    )


# -- post_message: conversations and participants --------------------------------------------


def test_viewing_an_order_creates_no_conversation(order_access):
    order_access("alice", "1001")
    order_access("bob", "1001")
    order_access("admin", "1001")

    assert not Conversation.objects.exists()
    assert not Participant.objects.exists()


def test_first_message_creates_the_conversation_with_customer_and_vendor_staff(post):
    message = post("alice", "1002", "bobs-bikes", "Is the bike assembled?")

    conversation = conversation_of("1002", "bobs-bikes")
    assert message.conversation_id == conversation.pk
    assert message.seq == 1
    assert message.author_role == Role.CUSTOMER
    assert message.author_name == "Alice Archer"
    assert conversation.vendor_name == "Bob's Bikes"
    assert conversation.customer_email == "alice@customers.example"
    # C1: store staff read along but are not participants of a vendor conversation.
    assert roles_of(conversation) == {"alice": Role.CUSTOMER, "bob": Role.VENDOR}
    assert_counters_exact()


def test_later_messages_reuse_the_conversation(post):
    post("alice", "1002", "bobs-bikes", "One")
    post("bob", "1002", "bobs-bikes", "Two")
    post("alice", "1002", "bobs-bikes", "Three")

    assert Conversation.objects.count() == 1
    assert Participant.objects.count() == 2


def test_each_vendor_of_a_split_order_gets_its_own_conversation(post):
    post("alice", "1001", "bobs-bikes", "About the helmet")
    post("alice", "1001", "daves-outdoor", "About the tent")

    bobs = conversation_of("1001", "bobs-bikes")
    daves = conversation_of("1001", "daves-outdoor")
    assert roles_of(bobs) == {"alice": Role.CUSTOMER, "bob": Role.VENDOR}
    assert roles_of(daves) == {"alice": Role.CUSTOMER, "dave": Role.VENDOR}
    # C5: the name says which vendor when the order has several.
    assert str(bobs) == "Order #1001 — Bob's Bikes"
    assert str(conversation_of("1001", "daves-outdoor")) == "Order #1001 — Dave's Outdoor"


def test_an_order_with_one_vendor_is_named_by_its_number_only(post):
    post("alice", "1002", "bobs-bikes")

    assert str(conversation_of("1002", "bobs-bikes")) == "Order #1002"


def test_store_staff_are_participants_of_the_stores_own_sub_order(post):
    post("alice", "1001", "store", "About the water bottles")

    conversation = conversation_of("1001", "store")
    assert conversation.vendor_name == "Demo Marketplace"
    assert roles_of(conversation) == {"alice": Role.CUSTOMER, "admin": Role.STAFF}


def test_store_staff_join_a_vendor_conversation_when_they_post(demo, post):
    post("alice", "1002", "bobs-bikes", "Hello Bob")
    message = post("admin", "1002", "bobs-bikes", "The store here: Bob is on holiday.")

    assert message.author_role == Role.STAFF
    conversation = conversation_of("1002", "bobs-bikes")
    assert roles_of(conversation)["admin"] == Role.STAFF

    post("alice", "1002", "bobs-bikes", "Thanks")
    assert unread_of(demo["admin"], "1002", "bobs-bikes") == 1
    assert_counters_exact()


def test_the_vendor_may_write_first(demo, post):
    post("dave", "1003", "daves-outdoor", "Your sleeping bags ship tomorrow.")

    conversation = conversation_of("1003", "daves-outdoor")
    assert roles_of(conversation) == {"alice": Role.CUSTOMER, "dave": Role.VENDOR}
    assert unread_of(demo["alice"], "1003", "daves-outdoor") == 1
    assert_counters_exact()


def test_a_guest_order_has_the_vendor_as_only_participant(demo, post):
    message = post(None, "1006", "daves-outdoor", "Where is my sleeping bag?")

    conversation = conversation_of("1006", "daves-outdoor")
    assert message.author_id is None
    assert message.author_name == "Gina Guest"
    assert message.author_role == Role.CUSTOMER
    assert conversation.customer_id is None
    assert conversation.customer_email == "gina@guests.example"
    assert roles_of(conversation) == {"dave": Role.VENDOR}
    assert unread_of(demo["dave"], "1006", "daves-outdoor") == 1
    assert_counters_exact()


# -- post_message: sequence and counters ------------------------------------------------------


def test_sequence_numbers_are_gapless_from_one(post):
    for i in range(7):
        post("alice" if i % 2 else "bob", "1002", "bobs-bikes", f"Message {i}")

    conversation = conversation_of("1002", "bobs-bikes")
    seqs = list(conversation.messages.values_list("seq", flat=True))
    assert seqs == [1, 2, 3, 4, 5, 6, 7]
    assert conversation.last_seq == 7
    assert conversation.last_message_excerpt == "Message 6"


def test_a_message_and_its_conversation_keep_one_moment(post):
    """What the conversation says of its last message and of the customer's wait is the
    message's own time, to the microsecond: a post reads the clock once."""
    with time_machine.travel(dt.datetime(2026, 3, 1, 9, 0, tzinfo=dt.UTC), tick=True):
        asked = post("alice", "1002", "bobs-bikes", "Where is my bike?")
    conversation = conversation_of("1002", "bobs-bikes")
    assert Message.objects.get(pk=asked.pk).created_at == asked.created_at
    assert conversation.awaiting_since == conversation.last_message_at == asked.created_at

    answer = post("bob", "1002", "bobs-bikes", "It left today.")

    conversation.refresh_from_db()
    assert conversation.last_message_at == answer.created_at
    assert Message.objects.get(pk=answer.pk).response_seconds == int(
        (answer.created_at - asked.created_at).total_seconds()
    )


def test_sequences_are_per_conversation(post):
    post("alice", "1001", "bobs-bikes")
    post("alice", "1001", "bobs-bikes")
    message = post("alice", "1001", "daves-outdoor")

    assert message.seq == 1


def test_recipients_get_unread_and_the_author_none(demo, post):
    alice, bob = demo["alice"], demo["bob"]
    post("alice", "1002", "bobs-bikes", "One")
    post("alice", "1002", "bobs-bikes", "Two")

    assert unread_of(bob, "1002", "bobs-bikes") == 2
    assert counter_of(bob) == 2
    assert unread_of(alice, "1002", "bobs-bikes") == 0
    assert counter_of(alice) == 0
    assert_counters_exact()


def test_the_unread_counter_sums_all_conversations_of_a_user(demo, post):
    post("alice", "1002", "bobs-bikes")
    post("carol", "1005", "bobs-bikes")
    post("carol", "1005", "bobs-bikes")
    post("alice", "1001", "bobs-bikes")

    assert counter_of(demo["bob"]) == 4
    assert_counters_exact()


def test_posting_marks_the_authors_unread_as_read(demo, post):
    alice, bob = demo["alice"], demo["bob"]
    post("alice", "1002", "bobs-bikes", "Question")
    post("bob", "1002", "bobs-bikes", "Answer 1")
    post("bob", "1002", "bobs-bikes", "Answer 2")
    assert unread_of(alice, "1002", "bobs-bikes") == 2
    assert counter_of(alice) == 2

    post("alice", "1002", "bobs-bikes", "Thanks")

    assert unread_of(alice, "1002", "bobs-bikes") == 0
    assert counter_of(alice) == 0
    assert unread_of(bob, "1002", "bobs-bikes") == 1
    participant = Participant.objects.get(user=alice)
    assert participant.last_read_seq == 4
    assert_counters_exact()


def test_posting_in_one_conversation_keeps_the_authors_other_unread(demo, post):
    post("bob", "1002", "bobs-bikes", "For order 1002")
    post("alice", "1001", "bobs-bikes", "About 1001")

    assert unread_of(demo["alice"], "1002", "bobs-bikes") == 1
    assert counter_of(demo["alice"]) == 1
    assert_counters_exact()


@pytest.mark.parametrize("body", ["", "   ", "\n\t \r\n"])
def test_an_empty_message_is_refused_and_nothing_is_stored(post, body):
    with pytest.raises(EmptyMessage) as error:
        post("alice", "1002", "bobs-bikes", body)

    assert error.value.message == "Please write a message before sending."
    assert not Conversation.objects.exists()
    assert not Message.objects.exists()


def test_an_empty_message_in_an_existing_conversation_changes_nothing(demo, post):
    post("alice", "1002", "bobs-bikes", "Hello")

    with pytest.raises(EmptyMessage):
        post("alice", "1002", "bobs-bikes", "  ")

    assert conversation_of("1002", "bobs-bikes").last_seq == 1
    assert Message.objects.count() == 1
    assert counter_of(demo["bob"]) == 1


def test_a_message_over_the_limit_is_refused_and_nothing_is_stored(post, settings):
    settings.ORDER_MESSAGES_MAX_MESSAGE_LENGTH = 20

    with pytest.raises(MessageTooLong) as error:
        post("alice", "1002", "bobs-bikes", "x" * 21)

    assert "at most 20 characters" in error.value.message
    assert "this one has 21" in error.value.message
    assert not Conversation.objects.exists()
    assert not Message.objects.exists()


def test_a_message_at_the_limit_is_accepted_after_trimming(post, settings):
    settings.ORDER_MESSAGES_MAX_MESSAGE_LENGTH = 20

    message = post("alice", "1002", "bobs-bikes", "   " + "x" * 20 + "\n\n")

    assert message.body == "x" * 20


def test_line_breaks_are_kept_and_the_ends_trimmed(post):
    message = post("alice", "1002", "bobs-bikes", "  Hello\r\nsecond line\n\nthird  ")

    message.refresh_from_db()
    assert message.body == "Hello\nsecond line\n\nthird"
    assert conversation_of("1002", "bobs-bikes").last_message_excerpt == "Hello second line third"


# -- mark_read --------------------------------------------------------------------------------


def test_mark_read_clears_the_readers_unread_and_counter(demo, post):
    alice, bob = demo["alice"], demo["bob"]
    post("alice", "1002", "bobs-bikes", "One")
    post("alice", "1002", "bobs-bikes", "Two")
    post("carol", "1005", "bobs-bikes")
    conversation = conversation_of("1002", "bobs-bikes")

    assert actions.mark_read(conversation=conversation, user=bob) == 2

    assert unread_of(bob, "1002", "bobs-bikes") == 0
    assert Participant.objects.get(conversation=conversation, user=bob).last_read_seq == 2
    assert counter_of(bob) == 1  # the other conversation stays unread
    assert unread_of(alice, "1002", "bobs-bikes") == 0
    assert_counters_exact()


def test_mark_read_twice_changes_nothing_the_second_time(demo, post):
    post("alice", "1002", "bobs-bikes")
    conversation = conversation_of("1002", "bobs-bikes")
    actions.mark_read(conversation=conversation, user=demo["bob"])

    assert actions.mark_read(conversation=conversation, user=demo["bob"]) == 0
    assert counter_of(demo["bob"]) == 0
    assert_counters_exact()


def test_mark_read_by_a_non_participant_does_nothing(demo, post):
    post("alice", "1002", "bobs-bikes")
    conversation = conversation_of("1002", "bobs-bikes")

    assert actions.mark_read(conversation=conversation, user=demo["admin"]) == 0
    assert not Participant.objects.filter(user=demo["admin"]).exists()
    assert_counters_exact()


def test_mark_read_with_a_stale_conversation_reads_up_to_the_latest_message(demo, post):
    post("alice", "1002", "bobs-bikes")
    stale = conversation_of("1002", "bobs-bikes")
    post("alice", "1002", "bobs-bikes")

    assert actions.mark_read(conversation=stale, user=demo["bob"]) == 2
    assert Participant.objects.get(user=demo["bob"]).last_read_seq == 2
    assert_counters_exact()


def test_mark_read_up_to_a_message_leaves_the_later_ones_unread(demo, post):
    for text in ("One", "Two", "Three"):
        post("alice", "1002", "bobs-bikes", text)
    conversation = conversation_of("1002", "bobs-bikes")

    assert actions.mark_read(conversation=conversation, user=demo["bob"], up_to_seq=2) == 2

    assert unread_of(demo["bob"], "1002", "bobs-bikes") == 1
    assert Participant.objects.get(user=demo["bob"]).last_read_seq == 2
    assert counter_of(demo["bob"]) == 1
    assert actions.mark_read(conversation=conversation, user=demo["bob"], up_to_seq=2) == 0
    assert actions.mark_read(conversation=conversation, user=demo["bob"], up_to_seq=3) == 1
    assert counter_of(demo["bob"]) == 0
    assert_counters_exact()


def test_a_message_arriving_while_the_page_is_built_stays_unread(
    demo, post, client_for, monkeypatch
):
    """The thread page marks read what it showed, not what was posted after its query."""
    import order_messages.queries as queries

    post("alice", "1002", "bobs-bikes", "Shown")
    thread_page = queries.thread_page

    def thread_page_then_a_post(**kwargs):
        page = thread_page(**kwargs)
        post("alice", "1002", "bobs-bikes", "Arrived after the page was read")
        return page

    monkeypatch.setattr(queries, "thread_page", thread_page_then_a_post)
    page = client_for("bob").get("/messages/orders/1002/bobs-bikes/").content.decode()

    assert "Shown" in page and "Arrived after" not in page
    assert unread_of(demo["bob"], "1002", "bobs-bikes") == 1
    assert counter_of(demo["bob"]) == 1
    assert_counters_exact()


# -- disputes ---------------------------------------------------------------------------------


def test_open_dispute_writes_the_dispute_the_system_message_and_the_banner(demo, post, dispute):
    post("alice", "1002", "bobs-bikes", "The bike has a bent wheel.")

    opened = dispute.open("alice", "1002", "bobs-bikes", "  Bent front wheel.  ")

    conversation = conversation_of("1002", "bobs-bikes")
    assert conversation.open_dispute == opened
    assert conversation.has_open_dispute
    assert opened.status == Dispute.Status.OPEN
    assert opened.reason == "Bent front wheel."
    assert opened.opened_by == demo["alice"]
    assert opened.opened_by_name == "Alice Archer"
    event = conversation.messages.get(seq=2)
    assert event.kind == Message.Kind.DISPUTE_OPENED
    assert event.body == "Bent front wheel."
    assert event.author == demo["alice"]
    assert_counters_exact()


def test_open_dispute_adds_store_staff_with_unread(demo, post, dispute):
    post("alice", "1002", "bobs-bikes", "Hello")
    post("bob", "1002", "bobs-bikes", "Hi")

    dispute.open("alice", "1002", "bobs-bikes")

    conversation = conversation_of("1002", "bobs-bikes")
    assert roles_of(conversation) == {
        "alice": Role.CUSTOMER,
        "bob": Role.VENDOR,
        "admin": Role.STAFF,
    }
    # Staff join at the dispute: the dispute message is unread, the history before is not.
    assert unread_of(demo["admin"], "1002", "bobs-bikes") == 1
    assert counter_of(demo["admin"]) == 1
    assert unread_of(demo["bob"], "1002", "bobs-bikes") == 1
    # Opening the dispute means having read Bob's answer.
    assert unread_of(demo["alice"], "1002", "bobs-bikes") == 0
    assert_counters_exact()


def test_open_dispute_creates_the_conversation_when_there_is_none(demo, dispute):
    dispute.open("alice", "1003", "daves-outdoor", "Never arrived.")

    conversation = conversation_of("1003", "daves-outdoor")
    assert conversation.last_seq == 1
    assert set(roles_of(conversation)) == {"alice", "dave", "admin"}
    assert_counters_exact()


def test_a_second_dispute_while_one_is_open_is_refused_and_nothing_duplicated(post, dispute):
    post("alice", "1002", "bobs-bikes")
    first = dispute.open("alice", "1002", "bobs-bikes", "First")

    with pytest.raises(DisputeAlreadyOpen):
        dispute.open("alice", "1002", "bobs-bikes", "Second")
    with pytest.raises(DisputeAlreadyOpen):
        dispute.open("admin", "1002", "bobs-bikes", "Third")

    assert list(Dispute.objects.all()) == [first]
    conversation = conversation_of("1002", "bobs-bikes")
    assert conversation.last_seq == 2
    assert conversation.messages.filter(kind=Message.Kind.DISPUTE_OPENED).count() == 1
    assert conversation.open_dispute == first
    assert_counters_exact()


@pytest.mark.parametrize("reason", ["", "   ", "\t\n"])
def test_a_dispute_needs_a_reason(post, dispute, reason):
    post("alice", "1002", "bobs-bikes")

    with pytest.raises(ReasonRequired) as error:
        dispute.open("alice", "1002", "bobs-bikes", reason)

    assert error.value.message == "Please give a reason for the dispute."
    assert not Dispute.objects.exists()
    assert conversation_of("1002", "bobs-bikes").last_seq == 1


def test_a_reason_over_the_limit_is_refused(post, dispute, settings):
    settings.ORDER_MESSAGES_MAX_REASON_LENGTH = 10

    with pytest.raises(ReasonRequired) as error:
        dispute.open("alice", "1002", "bobs-bikes", "x" * 11)

    assert "at most 10 characters" in error.value.message
    assert not Dispute.objects.exists()
    assert not Conversation.objects.exists()


def test_close_dispute_writes_a_system_message_and_clears_the_banner(demo, post, dispute):
    post("alice", "1002", "bobs-bikes")
    opened = dispute.open("alice", "1002", "bobs-bikes")

    closed = dispute.close("admin", "1002", "bobs-bikes")

    assert closed.pk == opened.pk
    closed.refresh_from_db()
    assert closed.status == Dispute.Status.CLOSED
    assert closed.closed_by == demo["admin"]
    assert closed.closed_by_name == "Ada Admin"
    assert closed.closed_at is not None
    conversation = conversation_of("1002", "bobs-bikes")
    assert conversation.open_dispute is None
    event = conversation.messages.get(seq=3)
    assert event.kind == Message.Kind.DISPUTE_CLOSED
    assert event.author_role == Role.STAFF
    assert event.author_name == "Ada Admin"
    assert unread_of(demo["alice"], "1002", "bobs-bikes") == 1
    assert unread_of(demo["bob"], "1002", "bobs-bikes") == 3
    assert_counters_exact()


def test_closing_when_no_dispute_is_open_returns_none_and_writes_nothing(demo, post, dispute):
    post("alice", "1002", "bobs-bikes")

    assert dispute.close("alice", "1002", "bobs-bikes") is None

    dispute.open("alice", "1002", "bobs-bikes")
    dispute.close("alice", "1002", "bobs-bikes")
    assert dispute.close("alice", "1002", "bobs-bikes") is None

    conversation = conversation_of("1002", "bobs-bikes")
    assert conversation.last_seq == 3
    assert conversation.messages.filter(kind=Message.Kind.DISPUTE_CLOSED).count() == 1
    assert_counters_exact()


def test_reopening_after_close_starts_a_new_dispute_and_keeps_history(post, dispute):
    post("alice", "1002", "bobs-bikes")
    first = dispute.open("alice", "1002", "bobs-bikes", "First problem")
    dispute.close("alice", "1002", "bobs-bikes")

    second = dispute.open("alice", "1002", "bobs-bikes", "Second problem")

    assert second.pk != first.pk
    first.refresh_from_db()
    assert first.status == Dispute.Status.CLOSED
    assert first.reason == "First problem"
    assert second.status == Dispute.Status.OPEN
    conversation = conversation_of("1002", "bobs-bikes")
    assert conversation.open_dispute == second
    assert list(conversation.messages.values_list("kind", flat=True)) == [
        Message.Kind.MESSAGE,
        Message.Kind.DISPUTE_OPENED,
        Message.Kind.DISPUTE_CLOSED,
        Message.Kind.DISPUTE_OPENED,
    ]
    assert_counters_exact()


def test_a_guest_can_open_a_dispute(demo, post, dispute):
    post(None, "1006", "daves-outdoor", "Where is it?")

    opened = dispute.open(None, "1006", "daves-outdoor", "Never arrived.")

    assert opened.opened_by is None
    assert opened.opened_by_name == "Gina Guest"
    assert unread_of(demo["admin"], "1006", "daves-outdoor") == 1
    assert unread_of(demo["dave"], "1006", "daves-outdoor") == 2
    assert_counters_exact()


def test_counters_stay_exact_through_a_whole_story(demo, post, dispute):
    post("alice", "1001", "bobs-bikes", "Helmet?")
    post("alice", "1001", "daves-outdoor", "Tent?")
    post("alice", "1001", "store", "Bottles?")
    post("bob", "1001", "bobs-bikes", "Friday.")
    post("admin", "1001", "store", "Tomorrow.")
    actions.mark_read(conversation=conversation_of("1001", "bobs-bikes"), user=demo["alice"])
    dispute.open("alice", "1001", "daves-outdoor", "No answer.")
    post("dave", "1001", "daves-outdoor", "Sorry, on its way.")
    post(None, "1006", "daves-outdoor", "Hello?")
    dispute.close("admin", "1001", "daves-outdoor")
    post("carol", "1005", "bobs-bikes", "Helmet size?")
    post("admin", "1005", "daves-outdoor", "The store checks in.")

    assert counter_of(demo["alice"]) == 3  # store reply, Dave's reply, the close
    assert_counters_exact()


# -- signals after commit ---------------------------------------------------------------------


@pytest.fixture
def received():
    """Every signal the host would receive, as (name, kwargs)."""
    events = []
    handlers = {}
    for name in ("message_posted", "dispute_opened", "dispute_closed"):

        def handler(sender, _name=name, **kwargs):
            events.append((_name, kwargs))

        handlers[name] = handler
        getattr(signals, name).connect(handler)
    yield events
    for name, handler in handlers.items():
        getattr(signals, name).disconnect(handler)


def test_message_posted_is_sent_only_on_commit(post, received, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        message = post("alice", "1002", "bobs-bikes", "Hello")
        assert received == []

    for callback in callbacks:
        callback()

    assert [name for name, _ in received] == ["message_posted"]
    kwargs = received[0][1]
    assert kwargs["message"] == message
    assert kwargs["conversation"] == conversation_of("1002", "bobs-bikes")


def test_dispute_signals_are_sent_on_commit(
    post, dispute, received, django_capture_on_commit_callbacks
):
    post("alice", "1002", "bobs-bikes")
    with django_capture_on_commit_callbacks(execute=True):
        opened = dispute.open("alice", "1002", "bobs-bikes", "Broken")
    with django_capture_on_commit_callbacks(execute=True):
        dispute.close("alice", "1002", "bobs-bikes")

    names = [name for name, _ in received]
    assert names == ["message_posted", "dispute_opened", "message_posted", "dispute_closed"]
    opened_kwargs, closed_kwargs = received[1][1], received[3][1]
    assert opened_kwargs["dispute"] == opened
    assert opened_kwargs["conversation"].open_dispute_id == opened.pk
    assert closed_kwargs["dispute"].status == Dispute.Status.CLOSED
    assert closed_kwargs["conversation"].open_dispute_id is None
    assert received[0][1]["message"].kind == Message.Kind.DISPUTE_OPENED


def test_nothing_is_sent_when_the_transaction_rolls_back(
    post, dispute, received, django_capture_on_commit_callbacks
):
    post("alice", "1002", "bobs-bikes")
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        with pytest.raises(RuntimeError), transaction.atomic():
            post("alice", "1002", "bobs-bikes", "Lost")
            dispute.open("alice", "1002", "bobs-bikes", "Lost too")
            raise RuntimeError("the host's transaction fails")

    assert callbacks == []
    assert received == []
    assert conversation_of("1002", "bobs-bikes").last_seq == 1
    assert not Dispute.objects.exists()
    assert_counters_exact()


@pytest.mark.django_db(transaction=True)
def test_signals_wait_for_the_real_commit(demo, post, received):
    with transaction.atomic():
        post("alice", "1002", "bobs-bikes", "Hello")
        assert received == []
    assert [name for name, _ in received] == ["message_posted"]

    with pytest.raises(RuntimeError), transaction.atomic():
        post("alice", "1002", "bobs-bikes", "Rolled back")
        raise RuntimeError
    assert len(received) == 1
    assert Message.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_counters_stay_exact_under_concurrent_posts_and_reads(demo, access_as):
    """SPEC 9: after concurrent posts and reads every stored count equals a recount."""
    from concurrent.futures import ThreadPoolExecutor

    from django.db import connection, connections

    if connection.vendor != "postgresql":
        pytest.skip("needs a database with row locks shared by several connections")
    accesses = {name: access_as(name, "1001") for name in ("alice", "bob", "admin")}

    def work(name):
        try:
            access = accesses[name]
            sub_order = access.sub_order("bobs-bikes")
            for i in range(8):
                actions.post_message(
                    order=access.order,
                    sub_order=sub_order,
                    actor=access.actor_in(sub_order),
                    body=f"{name} {i}",
                )
                conversation = conversation_of("1001", "bobs-bikes")
                actions.mark_read(conversation=conversation, user=demo[name])
        finally:
            connections.close_all()

    actions.post_message(
        order=accesses["alice"].order,
        sub_order=accesses["alice"].sub_order("bobs-bikes"),
        actor=accesses["alice"].actor_in(accesses["alice"].sub_order("bobs-bikes")),
        body="Start",
    )
    with ThreadPoolExecutor(max_workers=3) as pool:
        list(pool.map(work, ["alice", "bob", "admin"]))

    assert conversation_of("1001", "bobs-bikes").last_seq == 25
    assert_counters_exact()
