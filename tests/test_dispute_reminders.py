"""The reminder before a seller's dispute deadline runs out: written by the
worker's clock (``actions.remind_sellers``), e-mailed by the notification worker to those
who answer for the seller, and not sent once the seller answered or the dispute is no
longer open. Times are explicit and the clock is frozen: no sleeps."""

import datetime as dt

import pytest
import time_machine

from order_messages import actions
from order_messages.models import Notification
from order_messages.notifications.worker import deliver_due
from tests.conftest import conversation_of

pytestmark = pytest.mark.usefixtures("no_conversations")

SITE = "https://shop.example"
DAVE, ALICE, ADMIN = (
    "dave@daves-outdoor.example",
    "alice@customers.example",
    "admin@marketplace.example",
)
START = dt.datetime(2026, 12, 7, 9, 0, tzinfo=dt.UTC)  # a Monday; the deadline is Wed 09:00
HOURS = dt.timedelta(hours=1)
REMIND_AT = START + 37 * HOURS  # within DISPUTE_REMINDER_HOURS (12) of the deadline
SUBJECT = "Reminder: answer the dispute about order #1001 by Wed 9 Dec 09:00 UTC"
Status = Notification.Status


@pytest.fixture(autouse=True)
def site_url(settings):
    settings.ORDER_MESSAGES_SITE_URL = SITE


@pytest.fixture
def opened(dispute, post):
    """Alice's dispute with Dave's Outdoor in #1001, opened Monday 09:00 and unanswered."""
    with time_machine.travel(START, tick=False):
        post("alice", "1001", "daves-outdoor", "Is the tent waterproof?")
        return dispute.open(
            "alice",
            "1001",
            "daves-outdoor",
            "The seam leaks.",
            reason_code="not_as_described",
            requested="refund",
        )


def remind_and_deliver(at=REMIND_AT):
    """The worker's clock at ``at``, then the e-mails due by then (dispute e-mails of the
    opening included): returns the reminders written."""
    with time_machine.travel(at, tick=False):
        actions.remind_sellers(now=at)
        deliver_due(now=at)
    return list(Notification.objects.filter(kind=Notification.Kind.DISPUTE_REMINDER))


def reminders_in(smtp):
    return [m for m in smtp.messages() if m["Subject"].startswith("Reminder:")]


def text_of(message):
    return message.get_body(("plain",)).get_content()


def html_of(message):
    return message.get_body(("html",)).get_content()


def test_the_sellers_staff_are_reminded_of_the_deadline(opened, smtp):
    (row,) = remind_and_deliver()

    assert row.status == Status.SENT
    (email,) = reminders_in(smtp)
    assert email["To"] == DAVE  # neither the customer nor the store's staff
    assert email["Subject"] == SUBJECT
    text = text_of(email)
    assert "Hello Dave Dawson," in text
    assert (
        "The dispute Alice Archer opened about Order #1001 — Dave's Outdoor is waiting for an "
        "answer. Dave's Outdoor must answer by Wed 9 Dec 09:00 UTC; if no one does, it is "
        "escalated to the store." in " ".join(text.split())
    )
    assert "Reason: Not as described" in text
    assert "Asks for: Refund" in text
    assert "Details: The seam leaks." in text
    assert f"{SITE}/messages/orders/1001/daves-outdoor/" in text
    html = html_of(email)
    assert f'href="{SITE}/messages/orders/1001/daves-outdoor/"' in html
    assert "Not as described" in html and "The seam leaks." in html
    # Dave can answer by replying to it: that answer stops the clock.
    assert email["Reply-To"].startswith("reply+")


def test_the_reminder_tells_of_no_new_message(opened, smtp):
    (row,) = remind_and_deliver()

    last_seq = conversation_of("1001", "daves-outdoor").last_seq
    assert row.first_seq == row.last_seq == last_seq
    assert "A new message" not in text_of(reminders_in(smtp)[0])


def test_no_reminder_is_sent_once_the_seller_answered(opened, post, smtp):
    with time_machine.travel(REMIND_AT, tick=False):
        actions.remind_sellers(now=REMIND_AT)
        post("dave", "1001", "daves-outdoor", "We will refund you.")  # before the worker
        deliver_due(now=REMIND_AT)

    row = Notification.objects.get(kind=Notification.Kind.DISPUTE_REMINDER)
    assert row.status == Status.SKIPPED  # "Not needed"
    assert row.get_status_display() == "Not needed"
    assert "answered" in row.last_error
    assert reminders_in(smtp) == []


@pytest.mark.parametrize("closer", ["alice", "admin"])
def test_no_reminder_is_sent_once_the_dispute_is_resolved(opened, dispute, smtp, closer):
    with time_machine.travel(REMIND_AT, tick=False):
        actions.remind_sellers(now=REMIND_AT)
        dispute.close(closer, "1001", "daves-outdoor", note="Sorted.")
        deliver_due(now=REMIND_AT)

    assert Notification.objects.get(kind="dispute_reminder").status == Status.SKIPPED
    assert reminders_in(smtp) == []


def test_no_reminder_is_sent_once_the_dispute_was_escalated(opened, smtp):
    with time_machine.travel(REMIND_AT, tick=False):
        actions.remind_sellers(now=REMIND_AT)
    late = START + 49 * HOURS
    with time_machine.travel(late, tick=False):
        assert actions.escalate_overdue_disputes(now=late) == 1
        deliver_due(now=late)

    assert Notification.objects.get(kind="dispute_reminder").status == Status.SKIPPED
    assert reminders_in(smtp) == []
    # The escalation itself was e-mailed to the seller, folded with the opening they had
    # not been sent yet.
    (told,) = [m for m in smtp.messages(DAVE) if "dispute" in m["Subject"]]
    assert told["Subject"] == "Order #1001: 2 dispute updates"
    assert (
        "The dispute was escalated to the store: Dave's Outdoor did not answer by "
        "Wed 9 Dec 09:00 UTC." in text_of(told)
    )


def test_a_reminder_left_from_a_closed_dispute_is_not_sent_about_a_new_one(opened, dispute, smtp):
    with time_machine.travel(REMIND_AT, tick=False):
        actions.remind_sellers(now=REMIND_AT)
        dispute.close("alice", "1001", "daves-outdoor")
        dispute.open("alice", "1001", "daves-outdoor", "Now the pole is bent.")
        deliver_due(now=REMIND_AT)

    assert Notification.objects.get(kind="dispute_reminder").status == Status.SKIPPED
    assert reminders_in(smtp) == []


def test_the_reminder_is_sent_even_when_the_seller_muted_the_conversation(demo, opened, smtp):
    """Like the dispute e-mails: a deadline is not news one can switch off."""
    actions.mute_conversation(conversation=conversation_of("1001", "daves-outdoor"), email=DAVE)
    actions.save_email_preferences(user=demo["dave"], frequency="off", language="")

    (row,) = remind_and_deliver()

    assert row.status == Status.SENT
    assert [m["Subject"] for m in reminders_in(smtp)] == [SUBJECT]


def test_in_the_store_conversation_the_store_staff_are_reminded(demo, dispute, post, smtp):
    with time_machine.travel(START, tick=False):
        post("alice", "1004", "store", "Where is my gift card?")
        dispute.open("alice", "1004", "store", "It never came.", reason_code="not_received")

    (row,) = remind_and_deliver()

    assert (row.email, row.audience) == (ADMIN, "staff")
    (email,) = reminders_in(smtp)
    assert email["Subject"] == (
        "Reminder: answer the dispute about order #1004 by Wed 9 Dec 09:00 UTC"
    )
    assert "Reason: Not received" in text_of(email)


def test_the_deadline_is_in_the_sites_time_zone(opened, smtp, settings):
    settings.TIME_ZONE = "America/New_York"

    remind_and_deliver()

    (email,) = reminders_in(smtp)
    assert email["Subject"] == (
        "Reminder: answer the dispute about order #1001 by Wed 9 Dec 04:00 EST"
    )


def test_someone_who_left_the_vendor_is_not_reminded(demo, opened, smtp):
    """Access follows the store: the reminder written for Dave is not sent once he no
    longer works for Dave's Outdoor."""
    from demo.store.models import Vendor

    with time_machine.travel(REMIND_AT, tick=False):
        actions.remind_sellers(now=REMIND_AT)
    Vendor.objects.get(slug="daves-outdoor").staff.remove(demo["dave"])
    with time_machine.travel(REMIND_AT, tick=False):
        deliver_due(now=REMIND_AT)

    assert reminders_in(smtp) == []
    (row,) = Notification.objects.filter(kind=Notification.Kind.DISPUTE_REMINDER)
    assert row.status == Status.SKIPPED
