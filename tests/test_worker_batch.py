"""The worker reads what a claimed batch of e-mails needs for the whole batch at once: the
same e-mails go out, with a number of reads that does not grow with the batch."""

from datetime import timedelta
from unittest import mock

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from order_messages import actions
from order_messages.models import Mute, Notification
from order_messages.notifications import read_ahead, worker
from order_messages.notifications.worker import deliver_due
from tests.conftest import conversation_of, make_conversations, write_messages

pytestmark = pytest.mark.usefixtures("no_conversations")

ALICE, BOB = "alice@customers.example", "bob@bobs-bikes.example"
Status = Notification.Status


def later():
    return timezone.now() + timedelta(days=2)


def conversations_with_news(demo, *, count, start):
    """``count`` conversations of Alice with Bob, each with one new message: Bob's in the
    even ones (an e-mail to Alice), Alice's in the odd ones (an e-mail to Bob)."""
    conversations = make_conversations(
        customer=demo["alice"], vendor_user=demo["bob"], count=count, start=start
    )
    write_messages(conversations, text="News")
    return conversations


def expected(conversations):
    return sorted(
        (
            ALICE if i % 2 == 0 else BOB,
            f"Order #{c.order_number}: new message",
            f"News in {c.order_number}",
        )
        for i, c in enumerate(conversations)
    )


def delivered(mailoutbox):
    return sorted(
        (
            *email.to,
            email.subject,
            next(line for line in email.body.splitlines() if line.startswith("News in")),
        )
        for email in mailoutbox
    )


def statements(captured, verb):
    return [q["sql"] for q in captured.captured_queries if q["sql"].lstrip().startswith(verb)]


def store_reads(captured):
    """Reads of the demo store's tables (its orders, items and vendors)."""
    return [sql for sql in statements(captured, "SELECT") if '"store_' in sql]


def app_reads(captured):
    return [sql for sql in statements(captured, "SELECT") if '"store_' not in sql]


def test_a_batch_of_twenty_emails_reads_no_more_than_a_batch_of_five(demo, mailoutbox):
    five = conversations_with_news(demo, count=5, start=9000)
    with CaptureQueriesContext(connection) as small:
        report = deliver_due(now=later())
    assert report.sent == 5
    assert delivered(mailoutbox) == expected(five)

    mailoutbox.clear()
    twenty = conversations_with_news(demo, count=20, start=9100)
    with CaptureQueriesContext(connection) as large:
        report = deliver_due(now=later())
    assert report.sent == 20
    assert delivered(mailoutbox) == expected(twenty)

    # The app's own reads are the same for 5 e-mails and for 20. Asked for each e-mail, by
    # design: the store, for the order and the recipient's vendors, because who may read
    # the conversation follows the store's data as it is when the e-mail is written.
    small_app, large_app = app_reads(small), app_reads(large)
    assert len(large_app) == len(small_app), "\n".join(large_app)
    small_store, large_store = store_reads(small), store_reads(large)
    assert len(small_store) and len(large_store) / 20 == len(small_store) / 5
    # Written per e-mail, by design: the claim renewed just before it is sent, and what
    # became of it recorded just after, so that a worker that dies resends at most one.
    assert len(statements(large, "UPDATE")) - len(statements(small, "UPDATE")) == 2 * (20 - 5)


def test_each_email_of_a_batch_decides_on_its_own_recipient_and_conversation(demo, mailoutbox):
    """Read for the whole batch, a mute, a read conversation and switched-off e-mails still
    hold for their own e-mail only."""
    conversations = conversations_with_news(demo, count=6, start=9000)
    # 9000: to Alice, read by her meanwhile. 9001: to Bob, who muted it (in other letters).
    # 9002: to Alice, muted by Bob only. 9003, 9004, 9005: as they were.
    actions.mark_read(conversation=conversations[0], user=demo["alice"])
    Mute.objects.create(conversation=conversations[1], email=BOB.upper())
    Mute.objects.create(conversation=conversations[2], email=BOB)

    report = deliver_due(now=later())

    assert (report.sent, report.skipped) == (4, 2)
    assert delivered(mailoutbox) == [
        (ALICE, "Order #9002: new message", "News in 9002"),
        (ALICE, "Order #9004: new message", "News in 9004"),
        (BOB, "Order #9003: new message", "News in 9003"),
        (BOB, "Order #9005: new message", "News in 9005"),
    ]
    reasons = dict(
        Notification.objects.filter(status=Status.SKIPPED).values_list(
            "conversation__order_number", "last_error"
        )
    )
    assert reasons == {"9000": "already read", "9001": "muted or switched off"}


def test_an_email_sent_earlier_in_the_batch_is_in_the_threads_references(
    demo, dispute, post, mailoutbox
):
    """Bob's e-mail about Alice's dispute and the one about her message after it go out in
    the same batch: the second replies to the first, as it would in a later batch."""
    post("alice", "1002", "bobs-bikes", "Where is my bike?")
    dispute.open("alice", "1002", "bobs-bikes", "It never came.")

    report = deliver_due(now=later())

    to_bob = [email for email in mailoutbox if email.to == [BOB]]
    assert report.sent == len(mailoutbox) and len(to_bob) == 2
    first, second = to_bob
    root = f"<om.conversation.{conversation_of('1002', 'bobs-bikes').pk}@marketplace.example>"
    assert first.extra_headers["References"] == root
    assert second.extra_headers["In-Reply-To"] == first.extra_headers["Message-ID"]
    assert second.extra_headers["References"].split() == [root, first.extra_headers["Message-ID"]]


def test_the_emails_still_go_out_when_the_batch_cannot_be_read_at_once(demo, mailoutbox):
    """If reading for the batch fails, each e-mail reads what it needs itself."""
    conversations = conversations_with_news(demo, count=4, start=9000)
    broken = mock.patch.object(read_ahead, "_muted", side_effect=ValueError("down"))

    with broken:
        report = deliver_due(now=later())

    assert report.sent == 4
    assert delivered(mailoutbox) == expected(conversations)


def test_what_was_read_ahead_is_not_used_once_a_later_read_fails(demo, mailoutbox, monkeypatch):
    """The first read for the round succeeds; when it is renewed and that fails, the later
    e-mails read for themselves rather than decide on what was read before."""
    conversations = conversations_with_news(demo, count=4, start=9000)
    real = read_ahead.read_ahead
    calls = []

    def first_only(rows):
        calls.append(len(rows))
        if len(calls) > 1:
            raise ValueError("down")
        real(rows)
        # Alice reads 9002 after the batch was read: her e-mail about it is not needed.
        actions.mark_read(conversation=conversations[2], user=demo["alice"])
        for row in rows:
            row._read_at -= read_ahead.MAX_AGE_SECONDS  # as if the mail server were slow

    monkeypatch.setattr(worker, "read_ahead", first_only)
    report = deliver_due(now=later())

    assert len(calls) == 2
    assert (report.sent, report.skipped) == (3, 1)
    skipped = Notification.objects.get(status=Status.SKIPPED)
    assert (skipped.conversation.order_number, skipped.last_error) == ("9002", "already read")


def test_an_order_that_changes_hands_during_a_round_is_not_told_of(demo, mailoutbox, monkeypatch):
    """Who may read is decided for each e-mail with the store's order as it is then, not as
    it was when the round's rows were read."""
    from demo.store.models import Order

    conversations = conversations_with_news(demo, count=4, start=9000)
    real = read_ahead.read_ahead

    def then_the_store_moves_an_order(rows):
        real(rows)
        Order.objects.filter(number="9002").update(customer=demo["carol"], email="c@example.com")

    monkeypatch.setattr(worker, "read_ahead", then_the_store_moves_an_order)
    report = deliver_due(now=later())

    assert (report.sent, report.skipped) == (3, 1)
    assert delivered(mailoutbox) == [
        row for row in expected(conversations) if row[2] != "News in 9002"
    ]


def test_an_order_that_went_to_someone_else_is_not_told_of_in_a_batch(demo, mailoutbox):
    """The policy is asked for every e-mail of the batch, with the store's order of now."""
    from demo.store.models import Order

    conversations = conversations_with_news(demo, count=4, start=9000)
    Order.objects.filter(number="9002").update(customer=demo["carol"], email="c@example.com")

    report = deliver_due(now=later())

    assert (report.sent, report.skipped) == (3, 1)
    assert delivered(mailoutbox) == [
        row for row in expected(conversations) if row[2] != "News in 9002"
    ]
    skipped = Notification.objects.get(status=Status.SKIPPED)
    assert skipped.conversation.order_number == "9002"
    assert skipped.last_error == "no longer allowed to read the conversation"
