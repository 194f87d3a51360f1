"""A dispute's life: what it asks, the seller's clock, escalation by the worker, the
resolution, and the customer's wait that the seller's reply ends."""

from __future__ import annotations

import datetime as dt
import logging
from io import StringIO

import pytest
import time_machine
from django.core.management import call_command
from django.db import connection, connections
from django.test import TestCase

from demo.store.adapter import DemoStoreAdapter
from order_messages import actions, signals
from order_messages.errors import InvalidChoice, InvalidTransition, OutcomeRequired
from order_messages.models import (
    Conversation,
    Dispute,
    Message,
    Notification,
    Participant,
    Role,
    WebhookDelivery,
    WebhookEndpoint,
)

from .conftest import conversation_of, unread_of
from .test_webhooks import SECRET

pytestmark = pytest.mark.django_db

START = dt.datetime(2026, 12, 7, 9, 0, tzinfo=dt.UTC)  # a Monday
HOURS = dt.timedelta(hours=1)


@pytest.fixture
def endpoint():
    return WebhookEndpoint.objects.create(url="https://hooks.example.com/om", secret=SECRET)


def open_at(dispute, when, user="alice", number="1001", vendor_key="daves-outdoor", **kw):
    with time_machine.travel(when, tick=False):
        return dispute.open(user, number, vendor_key, **kw)


def post_at(post, when, user, body="Hello", number="1001", vendor_key="daves-outdoor"):
    with time_machine.travel(when, tick=False):
        return post(user, number, vendor_key, body)


# -- what a dispute asks ------------------------------------------------------------------


def test_a_dispute_records_what_went_wrong_and_what_the_customer_asks(demo, dispute):
    opened = open_at(
        dispute,
        START,
        reason="The tent pole snapped.",
        reason_code="damaged",
        requested="replacement",
    )
    opened.refresh_from_db()
    assert (opened.reason_code, opened.requested, opened.reason) == (
        "damaged",
        "replacement",
        "The tent pole snapped.",
    )
    assert opened.reason_label == "Damaged"
    assert opened.get_requested_display() == "Replacement"
    event = Message.objects.get(dispute=opened, kind=Message.Kind.DISPUTE_OPENED)
    assert event.body == "The tent pole snapped."
    assert conversation_of("1001", "daves-outdoor").dispute_count == 1


@pytest.mark.parametrize(
    "choices", [{"reason_code": "bored"}, {"requested": "a pony"}, {"reason_code": ""}]
)
def test_a_choice_not_offered_is_refused_and_nothing_is_written(demo, dispute, choices):
    with pytest.raises(InvalidChoice):
        dispute.open("alice", "1001", "daves-outdoor", **choices)
    assert not Dispute.objects.filter(conversation__order_number="1001").exists()


def test_the_stores_own_reasons_replace_the_defaults(demo, dispute, settings):
    settings.ORDER_MESSAGES_DISPUTE_REASONS = [("late", "Arrived late")]
    opened = dispute.open("alice", "1001", "daves-outdoor", reason_code="late")
    assert opened.reason_label == "Arrived late"
    with pytest.raises(InvalidChoice):
        dispute.open("alice", "1001", "bobs-bikes", reason_code="damaged")
    # A reason the store drops later still reads as its key on the disputes that have it.
    settings.ORDER_MESSAGES_DISPUTE_REASONS = [("other", "Other")]
    assert Dispute.objects.get(pk=opened.pk).reason_label == "late"


# -- the seller's clock -------------------------------------------------------------------


def test_the_seller_must_answer_within_the_response_hours(demo, dispute):
    opened = open_at(dispute, START)
    assert opened.respond_by == START + 48 * HOURS
    assert opened.awaits_seller


def test_without_response_hours_there_is_no_deadline(demo, dispute, settings):
    settings.ORDER_MESSAGES_DISPUTE_RESPONSE_HOURS = None
    opened = open_at(dispute, START)
    assert opened.respond_by is None
    assert actions.escalate_overdue_disputes(now=START + 1000 * HOURS) == 0


def test_the_sellers_first_reply_stops_the_clock(demo, dispute, post):
    opened = open_at(dispute, START)
    post_at(post, START + 2 * HOURS, "alice", "Any news?")
    post_at(post, START + 3 * HOURS, "admin", "The store is looking into it.")
    opened.refresh_from_db()
    assert opened.responded_at is None  # neither the customer nor the store is the seller
    post_at(post, START + 5 * HOURS, "dave", "Sorry! A new pole is on its way.")
    post_at(post, START + 6 * HOURS, "dave", "Tracking number follows.")
    opened.refresh_from_db()
    assert opened.responded_at == START + 5 * HOURS
    assert not opened.awaits_seller
    assert actions.escalate_overdue_disputes(now=START + 100 * HOURS) == 0


def test_in_the_stores_own_conversation_the_stores_staff_answer_for_the_seller(demo, dispute, post):
    opened = open_at(dispute, START, vendor_key="store")
    post_at(post, START + HOURS, "admin", "We'll replace the bottles.", vendor_key="store")
    opened.refresh_from_db()
    assert opened.responded_at == START + HOURS


# -- escalation ---------------------------------------------------------------------------


def test_an_unanswered_dispute_is_escalated_once_its_deadline_passed(demo, dispute, endpoint):
    opened = open_at(dispute, START)
    # The e-mails about the opening went out long ago.
    Notification.objects.update(status=Notification.Status.SENT, sent_at=START)
    assert actions.escalate_overdue_disputes(now=START + 47 * HOURS) == 0

    received = []
    signals.dispute_escalated.connect(lambda **kw: received.append(kw["dispute"].pk), weak=False)
    try:
        with (
            time_machine.travel(START + 49 * HOURS, tick=False),
            TestCase.captureOnCommitCallbacks(execute=True),
        ):
            assert actions.escalate_overdue_disputes() == 1
    finally:
        signals.dispute_escalated.receivers.clear()

    opened.refresh_from_db()
    assert opened.status == Dispute.Status.ESCALATED
    assert opened.escalated_at == START + 49 * HOURS
    conversation = conversation_of("1001", "daves-outdoor")
    assert conversation.escalated and conversation.open_dispute_id == opened.pk
    event = Message.objects.get(conversation=conversation, kind=Message.Kind.DISPUTE_ESCALATED)
    assert (event.author_id, event.author_role, event.dispute_id) == (None, Role.SYSTEM, opened.pk)
    # The store's staff are in the conversation and told: unread, an e-mail, a webhook.
    assert unread_of(demo["admin"], "1001", "daves-outdoor") >= 1
    assert Notification.objects.filter(
        conversation=conversation,
        user=demo["admin"],
        kind=Notification.Kind.DISPUTE_ESCALATED,
    ).exists()
    assert Notification.objects.filter(
        conversation=conversation, email="orders@marketplace.example"
    ).exists()
    assert WebhookDelivery.objects.filter(event_type="dispute.escalated").count() == 1
    assert received == [opened.pk]
    # Once: a second look finds nothing to do.
    assert actions.escalate_overdue_disputes(now=START + 60 * HOURS) == 0
    assert Message.objects.filter(kind=Message.Kind.DISPUTE_ESCALATED).count() == 1


def test_escalation_tells_the_open_threads_after_commit(demo, dispute, monkeypatch):
    from order_messages import live

    published = []
    monkeypatch.setattr(
        live, "publish", lambda user_ids, type, data: published.append((type, set(user_ids)))
    )
    open_at(dispute, START)
    with TestCase.captureOnCommitCallbacks(execute=False) as callbacks:
        actions.escalate_overdue_disputes(now=START + 49 * HOURS)
    assert not any(type == "dispute.escalated" for type, _ in published)  # not before commit
    for callback in callbacks:
        callback()
    escalated = [users for type, users in published if type == "dispute.escalated"]
    assert escalated and demo["admin"].pk in escalated[0] and demo["dave"].pk in escalated[0]


def test_a_dispute_is_not_escalated_when_the_seller_answered_or_it_was_resolved(
    demo, dispute, post
):
    open_at(dispute, START)
    post_at(post, START + 47 * HOURS, "dave", "On it.")
    open_at(dispute, START, number="1002", vendor_key="bobs-bikes")
    with time_machine.travel(START + 10 * HOURS, tick=False):
        dispute.close("alice", "1002", "bobs-bikes")
    assert actions.escalate_overdue_disputes(now=START + 49 * HOURS) == 0
    assert not Conversation.objects.filter(escalated=True).exists()


def test_an_escalated_dispute_can_still_be_resolved(demo, dispute):
    open_at(dispute, START)
    actions.escalate_overdue_disputes(now=START + 49 * HOURS)
    resolved = dispute.close("admin", "1001", "daves-outdoor", outcome="replaced", note="New tent.")
    assert resolved.status == Dispute.Status.CLOSED and resolved.outcome == "replaced"
    conversation = conversation_of("1001", "daves-outdoor")
    assert not conversation.escalated and conversation.open_dispute_id is None


def test_the_worker_escalates_due_disputes(demo, dispute):
    open_at(dispute, START)
    out = StringIO()
    with time_machine.travel(START + 49 * HOURS, tick=False):
        call_command("deliver_notifications", "--once", stdout=out)
    assert "disputes escalated 1" in out.getvalue()
    assert Dispute.objects.get(conversation__order_number="1001").status == "escalated"


@pytest.mark.django_db(transaction=True)
def test_workers_racing_on_one_deadline_escalate_it_once(demo, dispute):
    """Several workers reach the same overdue dispute at the same moment."""
    from concurrent.futures import ThreadPoolExecutor
    from threading import Barrier

    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL only: SQLite lets one writer in at a time, so nothing races")
    open_at(dispute, START)
    open_at(dispute, START, number="1002", vendor_key="bobs-bikes")
    workers = 6
    barrier = Barrier(workers)

    def work(_):
        try:
            barrier.wait()
            return actions.escalate_overdue_disputes(now=START + 49 * HOURS)
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=workers) as pool:
        escalated = list(pool.map(work, range(workers)))

    assert sum(escalated) == 2
    assert Message.objects.filter(kind=Message.Kind.DISPUTE_ESCALATED).count() == 2
    assert (
        WebhookDelivery.objects.filter(event_type="dispute.escalated").count() == 0
    )  # no endpoint
    assert Dispute.objects.filter(status="escalated").count() == 2


# -- the reminder -------------------------------------------------------------------------


def test_the_seller_is_reminded_once_before_the_deadline(demo, dispute):
    opened = open_at(dispute, START)
    assert actions.remind_sellers(now=START + 30 * HOURS) == 0  # 18 h left: not yet
    assert actions.remind_sellers(now=START + 37 * HOURS) == 1
    assert actions.remind_sellers(now=START + 40 * HOURS) == 0
    reminders = Notification.objects.filter(kind=Notification.Kind.DISPUTE_REMINDER)
    assert [r.user_id for r in reminders] == [demo["dave"].pk]
    assert reminders[0].audience == "vendor"
    opened.refresh_from_db()
    assert opened.reminded_at == START + 37 * HOURS


def test_no_reminder_once_the_seller_answered_or_the_deadline_passed(demo, dispute, post):
    open_at(dispute, START)
    post_at(post, START + HOURS, "dave", "Looking into it.")
    open_at(dispute, START, number="1002", vendor_key="bobs-bikes")
    assert actions.remind_sellers(now=START + 37 * HOURS) == 1  # Bob's only
    assert actions.remind_sellers(now=START + 50 * HOURS) == 0
    assert set(
        Notification.objects.filter(kind=Notification.Kind.DISPUTE_REMINDER).values_list(
            "user__username", flat=True
        )
    ) == {"bob"}


def test_no_reminder_when_the_whole_deadline_is_shorter_than_the_reminder(demo, dispute, settings):
    settings.ORDER_MESSAGES_DISPUTE_RESPONSE_HOURS = 8
    open_at(dispute, START)
    assert actions.remind_sellers(now=START + HOURS) == 0
    assert not Notification.objects.filter(kind=Notification.Kind.DISPUTE_REMINDER).exists()


# -- the resolution -----------------------------------------------------------------------


def test_staff_resolve_with_an_outcome_and_a_note_for_the_customer(demo, dispute, endpoint):
    opened = open_at(dispute, START, reason_code="damaged", requested="replacement")
    resolved = dispute.close(
        "admin", "1001", "daves-outdoor", outcome="replaced", note="A new tent ships today."
    )
    assert resolved.pk == opened.pk
    assert (resolved.status, resolved.outcome, resolved.resolution_note) == (
        "closed",
        "replaced",
        "A new tent ships today.",
    )
    event = Message.objects.get(dispute=opened, kind=Message.Kind.DISPUTE_CLOSED)
    assert event.body == "A new tent ships today."
    assert unread_of(demo["alice"], "1001", "daves-outdoor") == 1
    types = set(WebhookDelivery.objects.values_list("event_type", flat=True))
    assert {"dispute.closed", "dispute.resolved"} <= types


def test_staff_must_say_how_it_was_resolved(demo, dispute):
    open_at(dispute, START)
    for outcome in (None, ""):
        with pytest.raises(OutcomeRequired):
            dispute.close("admin", "1001", "daves-outdoor", outcome=outcome or "")
    with pytest.raises(InvalidChoice):
        dispute.close("admin", "1001", "daves-outdoor", outcome="shrugged")
    assert conversation_of("1001", "daves-outdoor").open_dispute_id is not None


def test_a_customer_closing_their_dispute_withdraws_it(demo, dispute):
    open_at(dispute, START)
    withdrawn = dispute.close("alice", "1001", "daves-outdoor")
    assert withdrawn.outcome == Dispute.Outcome.WITHDRAWN
    open_at(dispute, START + HOURS)
    with pytest.raises(InvalidChoice):
        dispute.close("alice", "1001", "daves-outdoor", outcome="refunded")


def test_a_vendor_cannot_move_a_dispute(demo, dispute, access_as):
    open_at(dispute, START)
    access = access_as("dave", "1001")
    sub_order = access.sub_order("daves-outdoor")
    with pytest.raises(InvalidTransition):
        actions.close_dispute(
            conversation=conversation_of("1001", "daves-outdoor"),
            actor=access.actor_in(sub_order),
            outcome="refunded",
        )


def test_the_store_hears_of_the_resolution_after_commit(demo, dispute, settings):
    settings.ORDER_MESSAGES_ADAPTER = "tests.test_dispute_lifecycle.RefundingAdapter"
    RefundingAdapter.resolved.clear()
    open_at(dispute, START)
    with TestCase.captureOnCommitCallbacks(execute=False) as callbacks:
        dispute.close("admin", "1001", "daves-outdoor", outcome="refunded")
    assert RefundingAdapter.resolved == []  # not before the commit
    for callback in callbacks:
        callback()
    assert RefundingAdapter.resolved == [("1001", "daves-outdoor", "refunded")]


def test_a_failing_hook_is_logged_and_undoes_nothing(demo, dispute, settings, caplog):
    settings.ORDER_MESSAGES_ADAPTER = "tests.test_dispute_lifecycle.BrokenAdapter"
    open_at(dispute, START)
    with caplog.at_level(logging.ERROR), TestCase.captureOnCommitCallbacks(execute=True):
        dispute.close("admin", "1001", "daves-outdoor", outcome="refunded")
    assert "dispute_resolved hook failed" in caplog.text
    assert Dispute.objects.get(conversation__order_number="1001").status == "closed"


def test_every_dispute_of_a_conversation_stays_on_record(demo, dispute):
    first = open_at(dispute, START)
    dispute.close("alice", "1001", "daves-outdoor")
    second = open_at(dispute, START + 10 * HOURS, reason_code="missing_parts")
    dispute.close("admin", "1001", "daves-outdoor", outcome="returned")
    rows = list(Dispute.objects.filter(conversation__order_number="1001").order_by("opened_at"))
    assert [(d.pk, d.outcome) for d in rows] == [(first.pk, "withdrawn"), (second.pk, "returned")]
    assert conversation_of("1001", "daves-outdoor").dispute_count == 2


def test_the_table_names_every_move_and_who_may_make_it():
    Status = Dispute.Status
    assert Dispute.TRANSITIONS == {
        (None, Status.OPEN): {Role.CUSTOMER, Role.STAFF},
        (Status.OPEN, Status.ESCALATED): {Role.SYSTEM},
        (Status.OPEN, Status.CLOSED): {Role.CUSTOMER, Role.STAFF},
        (Status.ESCALATED, Status.CLOSED): {Role.CUSTOMER, Role.STAFF},
        (Status.CLOSED, Status.OPEN): {Role.CUSTOMER, Role.STAFF},
    }


# -- the customer's wait ------------------------------------------------------------------


def test_a_customer_waits_from_their_first_unanswered_message(demo, post):
    post_at(post, START, "alice", "Where is my tent?")
    post_at(post, START + HOURS, "alice", "Hello?")
    conversation = conversation_of("1001", "daves-outdoor")
    assert (conversation.awaiting_since, conversation.awaiting_count) == (START, 2)
    reply = post_at(post, START + 3 * HOURS, "dave", "Shipped yesterday.")
    reply.refresh_from_db()
    assert (reply.response_seconds, reply.answered, reply.answered_within_day) == (10800, 2, 2)
    conversation.refresh_from_db()
    assert (conversation.awaiting_since, conversation.awaiting_count) == (None, 0)
    # A second reply answers nothing more.
    again = post_at(post, START + 4 * HOURS, "dave", "Tracking: 123.")
    again.refresh_from_db()
    assert (again.response_seconds, again.answered) == (None, 0)


def test_a_late_answer_counts_only_the_messages_of_its_last_day_as_in_time(demo, post):
    post_at(post, START, "alice", "First")
    post_at(post, START + 20 * HOURS, "alice", "Second")
    post_at(post, START + 30 * HOURS, "alice", "Third")
    reply = post_at(post, START + 40 * HOURS, "dave", "Sorry for the wait.")
    reply.refresh_from_db()
    assert (reply.response_seconds, reply.answered, reply.answered_within_day) == (
        40 * 3600,
        3,
        2,
    )


def test_the_store_answering_in_a_vendors_conversation_does_not_end_the_wait(demo, post):
    post_at(post, START, "alice", "Where is my tent?")
    post_at(post, START + HOURS, "admin", "Dave will answer shortly.")
    assert conversation_of("1001", "daves-outdoor").awaiting_since == START
    assert Participant.objects.filter(user=demo["admin"]).exists()


@pytest.mark.parametrize(
    ("closer", "outcome", "still_waiting"),
    [("admin", "refunded", False), ("alice", None, True)],
)
def test_a_resolution_by_staff_ends_the_wait_and_a_withdrawal_does_not(
    demo, post, dispute, closer, outcome, still_waiting
):
    post_at(post, START, "alice", "Where is my tent?")
    dispute.open("alice", "1001", "daves-outdoor", "It never came.")

    dispute.close(closer, "1001", "daves-outdoor", outcome=outcome, note="Refunded in full.")

    conversation = conversation_of("1001", "daves-outdoor")
    waiting = (START, 1) if still_waiting else (None, 0)
    assert (conversation.awaiting_since, conversation.awaiting_count) == waiting
    # The seller did not answer: no reply of theirs carries a reply time.
    assert not Message.objects.filter(conversation=conversation, response_seconds__isnull=False)


class RefundingAdapter(DemoStoreAdapter):
    resolved: list = []

    def dispute_resolved(self, *, dispute, conversation):
        self.resolved.append((conversation.order_number, conversation.vendor_key, dispute.outcome))


class BrokenAdapter(DemoStoreAdapter):
    def dispute_resolved(self, *, dispute, conversation):
        raise RuntimeError("payment provider down")


def test_escalation_stays_on_the_clock_the_dispute_was_given(demo, dispute, settings):
    """A deadline is fixed when the dispute opens: a later change of the setting moves
    only the disputes opened after it."""
    opened = open_at(dispute, START)
    settings.ORDER_MESSAGES_DISPUTE_RESPONSE_HOURS = 1
    assert actions.escalate_overdue_disputes(now=START + 2 * HOURS) == 0
    assert Dispute.objects.get(pk=opened.pk).respond_by == START + 48 * HOURS
