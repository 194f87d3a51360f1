"""Dispute e-mails are not a flood (issue 13): a dispute event that follows another within
ORDER_MESSAGES_DISPUTE_EMAIL_FOLD_SECONDS is folded into one e-mail per recipient, which
lists every event of its range; nothing is lost, and they still ignore mutes and
preferences. Delivered by the worker through the test SMTP server."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from order_messages import actions
from order_messages.conf import DEFAULTS
from order_messages.models import Message, Notification
from order_messages.notifications.worker import deliver_due
from tests.conftest import conversation_of

pytestmark = pytest.mark.usefixtures("no_conversations")

FOLD = 300
STORE_INBOX = "orders@marketplace.example"
ALICE, BOB = "alice@customers.example", "bob@bobs-bikes.example"
ADMIN = "admin@marketplace.example"
DISPUTE_SUBJECT = re.compile(
    r"^Order #1002: (dispute (opened|resolved|withdrawn|escalated to the store)(, since closed)?"
    r"|\d+ dispute updates)$"
)
Status = Notification.Status


@pytest.fixture
def smtp(smtp, settings):
    settings.ORDER_MESSAGES_SITE_URL = "https://shop.example"
    settings.ORDER_MESSAGES_DISPUTE_EMAIL_FOLD_SECONDS = FOLD
    settings.ORDER_MESSAGES_DISPUTE_RATE_LIMIT = None  # this is about e-mails, not the limit
    settings.ORDER_MESSAGES_POST_RATE_LIMIT = None
    assert settings.ORDER_MESSAGES_STORE_EMAIL == STORE_INBOX
    return smtp


@pytest.fixture
def talk(post, dispute):
    """``talk.open()`` by Alice, ``talk.close()`` by the store (rejected, with a note), in 1002
    with Bob's Bikes."""
    post("alice", "1002", "bobs-bikes", "Where is my bike?")

    class Talk:
        @staticmethod
        def open(reason="It arrived broken."):
            return dispute.open("alice", "1002", "bobs-bikes", reason)

        @staticmethod
        def close():
            return dispute.close("admin", "1002", "bobs-bikes", "rejected", "Not a fault.")

    return Talk


def dispute_mail(smtp, to):
    """The dispute e-mails that reached ``to``, oldest first (message e-mails left out)."""
    return [m for m in smtp.messages(to) if DISPUTE_SUBJECT.match(m["Subject"])]


def text_of(message):
    return message.get_body(("plain",)).get_content()


def html_of(message):
    return message.get_body(("html",)).get_content()


def later(seconds=FOLD):
    return timezone.now() + timedelta(seconds=seconds)


def test_the_default_folds_dispute_events_of_five_minutes():
    assert DEFAULTS["DISPUTE_EMAIL_FOLD_SECONDS"] == 300


def test_open_close_again_and_again_is_one_email_now_and_one_folded_later(talk, smtp):
    """The flood of the issue: twelve events in seconds were twelve e-mails to Bob."""
    talk.open("First reason")
    deliver_due()
    assert [m["Subject"] for m in dispute_mail(smtp, BOB)] == ["Order #1002: dispute opened"]

    for n in range(2, 7):
        talk.close()
        talk.open(f"Reason {n}")
    talk.close()
    deliver_due()  # now: nothing more for Bob, his next e-mail waits to fold the events
    assert len(dispute_mail(smtp, BOB)) == 1

    deliver_due(now=later())
    deliver_due(now=later(seconds=7 * 86400))  # and nothing after that

    first, folded = dispute_mail(smtp, BOB)
    assert folded["Subject"] == "Order #1002: 11 dispute updates"
    text = text_of(folded)
    assert text.count("Ada Admin resolved the dispute: Rejected.") == 6
    assert text.count("Note: Not a fault.") == 6
    assert text.count("Alice Archer reopened the dispute.") == 5
    for n in range(2, 7):  # every reason, in order
        assert f"Details: Reason {n}" in text
    assert [text.index(f"Reason {n}") for n in range(2, 7)] == sorted(
        text.index(f"Reason {n}") for n in range(2, 7)
    )
    assert "First reason" not in text  # that one was in the first e-mail
    assert Notification.objects.filter(email=BOB, status=Status.PENDING).count() == 0


def test_an_opening_told_after_the_dispute_was_closed_says_how_it_stands(talk, smtp):
    """The store closed the dispute before its e-mail about the opening went out. The one
    who closed it and the store's address are not told of the closing, so that e-mail
    tells of the opening and of the closing since, and of no deadline that has stopped."""
    talk.open()
    talk.close()  # by the store, before the worker came

    deliver_due()

    for address in (ADMIN, STORE_INBOX):
        (opened,) = dispute_mail(smtp, address)
        assert opened["Subject"] == "Order #1002: dispute opened, since closed"
        for part in (text_of(opened), html_of(opened)):
            assert "Alice Archer opened a dispute" in part and "must answer by" not in part
            assert "Since then, on " in part
            assert "Admin resolved the dispute: Rejected." in part
            assert "Not a fault." in part
    (told,) = dispute_mail(smtp, BOB)  # Bob hears of both, in one e-mail, and no "since"
    assert "must answer by" not in text_of(told) and "resolved the dispute" in text_of(told)
    assert "Since then" not in text_of(told)


def test_an_opening_told_while_the_dispute_is_open_says_nothing_of_since(talk, smtp):
    talk.open()

    deliver_due()

    (opened,) = dispute_mail(smtp, STORE_INBOX)
    assert opened["Subject"] == "Order #1002: dispute opened"
    assert "Since then" not in text_of(opened) and "must answer by" in text_of(opened)


def test_a_reopening_told_after_it_was_closed_again_says_so(talk, smtp):
    """Opened, closed and reopened within the fold window, then closed by the store: the
    store's address, told of the reopening last, hears that it was closed since."""
    talk.open()
    deliver_due()  # the opening, at once
    talk.close()
    talk.open("Still broken.")
    talk.close()

    deliver_due(now=later())

    (first, second) = dispute_mail(smtp, STORE_INBOX)
    assert "Since then" not in text_of(first)
    assert second["Subject"] == "Order #1002: dispute opened, since closed"
    text = text_of(second)
    assert "Alice Archer opened a dispute" in text and "Still broken." in text
    assert "Since then, on " in text and "Admin resolved the dispute: Rejected." in text


def test_every_recipient_gets_at_most_two_and_misses_no_event(talk, smtp, demo):
    talk.open()
    deliver_due()
    for _round in range(3):
        talk.close()
        talk.open("Again")
    deliver_due(now=later(seconds=86400))
    deliver_due(now=later(seconds=2 * 86400))

    for address in (ALICE, BOB, ADMIN, STORE_INBOX):
        assert 1 <= len(dispute_mail(smtp, address)) <= 2, address
    # Every event by someone else reached each address, in one e-mail or the other.
    events = Message.objects.filter(
        conversation=conversation_of("1002", "bobs-bikes"),
        kind__in=[Message.Kind.DISPUTE_OPENED, Message.Kind.DISPUTE_CLOSED],
    )
    told = {
        address: "".join(text_of(m) for m in dispute_mail(smtp, address))
        for address in (ALICE, BOB, ADMIN)
    }
    closings = events.filter(kind=Message.Kind.DISPUTE_CLOSED).count()
    openings = events.filter(kind=Message.Kind.DISPUTE_OPENED).count()
    assert told[BOB].count("Ada Admin resolved the dispute") == closings
    assert told[BOB].count("Alice Archer") == openings
    assert told[ALICE].count("Ada Admin resolved the dispute") == closings
    assert told[ADMIN].count("Alice Archer") == openings
    assert not Notification.objects.filter(status__in=[Status.PENDING, Status.SENDING]).exists()


def test_an_unsent_dispute_email_takes_the_next_events_on(talk, smtp):
    """Events before the worker comes round are one e-mail, sent at once."""
    talk.open()
    talk.close()
    talk.open("It is still broken.")

    deliver_due()

    (email,) = dispute_mail(smtp, BOB)
    assert email["Subject"] == "Order #1002: 3 dispute updates"
    text = text_of(email)
    assert "Alice Archer opened a dispute." in text and "Details: It arrived broken." in text
    assert "Ada Admin resolved the dispute: Rejected." in text
    assert "Alice Archer reopened the dispute." in text and "Details: It is still broken." in text
    assert text.index("opened a dispute") < text.index("resolved the") < text.index("reopened")
    html = html_of(email)
    assert "Ada Admin resolved the dispute: Rejected." in html and "It is still broken." in html
    assert Notification.objects.filter(email=BOB).exclude(kind="message").count() == 1


def test_after_the_fold_window_an_event_is_emailed_at_once_again(talk, smtp):
    talk.open()
    deliver_due()
    Notification.objects.filter(status=Status.SENT).update(
        sent_at=timezone.now() - timedelta(seconds=FOLD + 1)
    )

    talk.close()
    deliver_due()

    assert [m["Subject"] for m in dispute_mail(smtp, BOB)] == [
        "Order #1002: dispute opened",
        "Order #1002: dispute resolved",
    ]


def test_an_event_while_the_last_email_is_being_sent_waits_for_the_fold(talk, smtp):
    talk.open()
    Notification.objects.filter(email=BOB).exclude(kind="message").update(status=Status.SENDING)

    talk.close()

    row = Notification.objects.get(email=BOB, status=Status.PENDING, kind="dispute_closed")
    assert later(FOLD - 5) <= row.due_at <= later(FOLD)


def test_folded_emails_go_out_even_when_muted_or_switched_off(talk, smtp, demo):
    actions.mute_conversation(conversation=conversation_of("1002", "bobs-bikes"), email=BOB)
    actions.save_email_preferences(user=demo["bob"], frequency="off", language="")
    talk.open()
    deliver_due()
    talk.close()
    talk.open("Again")

    deliver_due(now=later())

    assert [m["Subject"] for m in dispute_mail(smtp, BOB)] == [
        "Order #1002: dispute opened",
        "Order #1002: 2 dispute updates",
    ]


def test_a_folded_email_in_german(talk, smtp, demo):
    actions.save_email_preferences(user=demo["bob"], frequency="each", language="de")
    talk.open()
    talk.close()
    talk.open("Immer noch kaputt.")

    deliver_due()

    (email,) = dispute_mail_de(smtp, BOB)
    assert email["Subject"] == "Bestellung #1002: 3 Änderungen am Streitfall"
    text = text_of(email)
    assert "Alice Archer hat einen Streitfall eröffnet." in text
    assert "Ada Admin hat den Streitfall entschieden: Abgelehnt." in text
    assert "Notiz: Not a fault." in text
    assert "Alice Archer hat den Streitfall wieder eröffnet." in text
    assert "Details: Immer noch kaputt." in text
    assert "Grund: Sonstiges" in text and "Gewünscht: Sonstiges" in text
    assert "dispute" not in text.lower()


def dispute_mail_de(smtp, to):
    return [m for m in smtp.messages(to) if "Streitfall" in m["Subject"]]


def test_an_escalation_told_after_the_store_closed_the_dispute_says_so(talk, smtp):
    talk.open()
    deliver_due()
    assert actions.escalate_overdue_disputes(now=later(49 * 3600)) == 1
    talk.close()  # by the store, before the worker came

    deliver_due(now=later(49 * 3600))

    escalated = dispute_mail(smtp, STORE_INBOX)[-1]
    assert escalated["Subject"] == "Order #1002: dispute escalated to the store, since closed"
    for part in (text_of(escalated), html_of(escalated)):
        assert "was escalated to the store" in part
        assert "Admin resolved the dispute: Rejected." in part
