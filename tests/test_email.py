"""E-mail notifications (S7, S9, B4): who gets one, what it says, where its links lead."""

import datetime as dt
import re
import string
from datetime import timedelta
from unittest import mock

import django
import pytest
import time_machine
from django.core.mail.backends.locmem import EmailBackend
from django.db import transaction
from django.test import Client
from hypothesis import example, given
from hypothesis import settings as examples
from hypothesis import strategies as st

from order_messages import actions
from order_messages.guest import read_guest_token
from order_messages.models import Message, Notification
from order_messages.notifications.outbox import store_inbox_wants
from tests.conftest import conversation_of, deliver_notifications

pytestmark = pytest.mark.usefixtures("no_conversations")

SITE = "https://shop.example"
STORE_INBOX = "orders@marketplace.example"
ALICE, BOB, DAVE = "alice@customers.example", "bob@bobs-bikes.example", "dave@daves-outdoor.example"
ADMIN, GINA = "admin@marketplace.example", "gina@guests.example"
MONDAY_9AM = dt.datetime(2026, 12, 7, 9, 0, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def site_url(settings):
    settings.ORDER_MESSAGES_SITE_URL = SITE
    assert settings.ORDER_MESSAGES_STORE_EMAIL == STORE_INBOX


@pytest.fixture
def sent(django_capture_on_commit_callbacks, mailoutbox):
    """``sent(action, *args)``: run an action, commit, and return the e-mails by address."""

    def run(action, *args, **kwargs):
        mailoutbox.clear()
        Notification.objects.all().delete()  # only what this action sends
        with django_capture_on_commit_callbacks(execute=True):
            action(*args, **kwargs)
        deliver_notifications()
        by_address = {}
        for email in mailoutbox:
            assert len(email.to) == 1, email.to
            assert email.to[0] not in by_address, f"{email.to[0]} got two e-mails"
            by_address[email.to[0]] = email
        return by_address

    return run


def html_part(email):
    (content, mimetype), *_ = email.alternatives
    assert mimetype == "text/html"
    return content


def test_a_message_emails_the_other_participants_but_not_the_author(post, sent):
    emails = sent(post, "alice", "1002", "bobs-bikes", "Is the bike assembled?")

    assert set(emails) == {BOB}
    email = emails[BOB]
    assert email.subject == "Order #1002: new message"
    assert email.from_email == "Demo Marketplace <shop@marketplace.example>"
    assert "Hello Bob Baker," in email.body
    assert "A new message about Order #1002:" in email.body
    assert "Alice Archer (Customer)," in email.body
    assert "Is the bike assembled?" in email.body
    assert f"{SITE}/messages/orders/1002/bobs-bikes/" in email.body
    html = html_part(email)
    assert "Is the bike assembled?" in html
    assert f'href="{SITE}/messages/orders/1002/bobs-bikes/"' in html


def test_the_html_part_names_the_language_it_is_written_in(demo, post, sent):
    actions.save_email_preferences(user=demo["bob"], frequency="each", language="de")
    to_bob = sent(post, "alice", "1002", "bobs-bikes", "Frage")[BOB]
    to_alice = sent(post, "bob", "1002", "bobs-bikes", "Answer")[ALICE]

    assert to_bob.subject == "Bestellung #1002: neue Nachricht"
    assert '<html lang="de">' in html_part(to_bob)
    assert '<html lang="en">' in html_part(to_alice)


def test_the_customer_gets_a_link_to_the_order_and_others_do_not(post, sent):
    to_bob = sent(post, "alice", "1002", "bobs-bikes", "Question")[BOB]
    to_alice = sent(post, "bob", "1002", "bobs-bikes", "Answer")[ALICE]

    assert f"{SITE}/orders/1002/" in to_alice.body
    assert f'href="{SITE}/orders/1002/"' in html_part(to_alice)
    assert f"{SITE}/orders/1002/" not in to_bob.body
    assert f"{SITE}/messages/orders/1002/bobs-bikes/" in to_alice.body


def test_the_html_part_escapes_the_message_and_links_urls(post, sent):
    email = sent(post, "alice", "1002", "bobs-bikes", "<b>Hi</b> see https://x.example/a")[BOB]

    html = html_part(email)
    assert "<b>Hi</b>" not in html
    assert "&lt;b&gt;Hi&lt;/b&gt;" in html
    assert '<a href="https://x.example/a" rel="nofollow">' in html
    assert "<b>Hi</b> see https://x.example/a" in email.body  # the text part is plain


def test_a_split_order_names_the_vendor(post, sent):
    email = sent(post, "alice", "1001", "daves-outdoor", "About the tent")[DAVE]

    assert email.subject == "Order #1001: new message"
    assert "Order #1001 — Dave's Outdoor" in email.body


def test_a_message_to_the_store_emails_its_staff_and_its_orders_address(post, sent):
    emails = sent(post, "alice", "1004", "store", "About my gift card")

    assert set(emails) == {ADMIN, STORE_INBOX}
    assert "About my gift card" in emails[STORE_INBOX].body


def test_a_store_staff_reply_does_not_email_the_stores_orders_address(post, sent):
    post("alice", "1004", "store", "Question")

    emails = sent(post, "admin", "1004", "store", "Answer")

    assert set(emails) == {ALICE}


def test_store_staff_reading_along_get_no_email(post, sent):
    emails = sent(post, "bob", "1002", "bobs-bikes", "Your bike ships today")

    assert set(emails) == {ALICE}


def test_an_opened_dispute_emails_the_vendor_the_store_staff_and_the_orders_address(
    post, dispute, sent
):
    post("alice", "1002", "bobs-bikes", "Bent wheel")

    with time_machine.travel(MONDAY_9AM, tick=False):
        emails = sent(
            dispute.open,
            "alice",
            "1002",
            "bobs-bikes",
            "The wheel is bent.",
            reason_code="damaged",
            requested="replacement",
        )

    assert set(emails) == {BOB, ADMIN, STORE_INBOX}
    for email in emails.values():
        assert email.subject == "Order #1002: dispute opened"
        assert "Alice Archer opened a dispute about Order #1002." in email.body
        assert "Reason: Damaged\nAsks for: Replacement\nDetails: The wheel is bent." in email.body
        # 48 hours, in the store's time zone (UTC in the demo).
        assert "Bob's Bikes must answer by Wed 9 Dec 09:00 UTC." in email.body
        html = html_part(email)
        assert "The wheel is bent." in html and "Damaged" in html and "Replacement" in html
        assert "Bob&#x27;s Bikes must answer by Wed 9 Dec 09:00 UTC." in html


def test_the_deadline_is_shown_in_the_sites_time_zone(post, dispute, sent, settings):
    settings.TIME_ZONE = "Europe/Berlin"
    post("alice", "1002", "bobs-bikes", "Bent wheel")

    with time_machine.travel(MONDAY_9AM, tick=False):
        emails = sent(dispute.open, "alice", "1002", "bobs-bikes", "The wheel is bent.")

    assert "Bob's Bikes must answer by Wed 9 Dec 10:00 CET." in emails[BOB].body  # 09:00 UTC


def test_without_a_deadline_the_opened_email_names_none(post, dispute, sent, settings):
    settings.ORDER_MESSAGES_DISPUTE_RESPONSE_HOURS = None
    post("alice", "1002", "bobs-bikes", "Bent wheel")

    emails = sent(dispute.open, "alice", "1002", "bobs-bikes", "The wheel is bent.")

    assert "must answer by" not in emails[BOB].body
    assert "must answer by" not in html_part(emails[BOB])


def test_a_resolved_dispute_tells_the_outcome_and_the_note(post, dispute, sent):
    post("alice", "1002", "bobs-bikes", "Bent wheel")
    dispute.open("alice", "1002", "bobs-bikes", "The wheel is bent.")

    emails = sent(
        dispute.close, "admin", "1002", "bobs-bikes", "replaced", "A new wheel ships today."
    )

    assert set(emails) == {ALICE, BOB}  # staff wrote it: not the orders address
    for email in emails.values():
        assert email.subject == "Order #1002: dispute resolved"
        assert "Ada Admin resolved the dispute about Order #1002." in email.body
        assert "Outcome: Replaced\nNote: A new wheel ships today." in email.body
        html = html_part(email)
        assert "Replaced" in html and "A new wheel ships today." in html


def test_a_withdrawn_dispute_says_the_customer_withdrew_it(post, dispute, sent):
    post("alice", "1002", "bobs-bikes", "Bent wheel")
    dispute.open("alice", "1002", "bobs-bikes", "The wheel is bent.")

    emails = sent(dispute.close, "alice", "1002", "bobs-bikes")

    assert set(emails) == {BOB, ADMIN, STORE_INBOX}
    for email in emails.values():
        assert email.subject == "Order #1002: dispute withdrawn"
        assert "Alice Archer withdrew the dispute about Order #1002." in email.body
        assert "Outcome:" not in email.body


def test_staff_recording_a_withdrawal_say_the_customer_withdrew_it(post, dispute, sent):
    post("alice", "1002", "bobs-bikes", "Bent wheel")
    dispute.open("alice", "1002", "bobs-bikes", "The wheel is bent.")

    emails = sent(dispute.close, "admin", "1002", "bobs-bikes", "withdrawn", "By phone.")

    assert emails[ALICE].subject == "Order #1002: dispute withdrawn"
    body = emails[ALICE].body
    assert "Ada Admin closed the dispute about Order #1002: the customer withdrew it." in body
    assert "Note: By phone." in body


def test_an_escalated_dispute_emails_everyone_the_store_staff_too(demo, post, dispute, sent):
    """The store's staff joined when the dispute opened; they are the ones it is for."""
    post("alice", "1002", "bobs-bikes", "Bent wheel")
    with time_machine.travel(MONDAY_9AM, tick=False):
        dispute.open("alice", "1002", "bobs-bikes", "The wheel is bent.", reason_code="damaged")

    later = MONDAY_9AM + timedelta(hours=49)
    with time_machine.travel(later, tick=False):
        emails = sent(actions.escalate_overdue_disputes, now=later)

    assert set(emails) == {ALICE, BOB, ADMIN, STORE_INBOX}
    for email in emails.values():
        assert email.subject == "Order #1002: dispute escalated to the store"
        assert (
            "The dispute about order #1002 was escalated to the store: Bob's Bikes did not "
            "answer by Wed 9 Dec 09:00 UTC." in email.body
        )
        assert "Reason: Damaged" in email.body and "The wheel is bent." in email.body
        assert "escalated to the store" in html_part(email)
    assert "https://shop.example/messages/orders/1002/bobs-bikes/" in emails[ADMIN].body


def test_staff_who_joined_the_store_since_the_opening_are_told_of_the_escalation(
    post, dispute, sent
):
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Permission

    post("alice", "1002", "bobs-bikes", "Bent wheel")
    with time_machine.travel(MONDAY_9AM, tick=False):
        dispute.open("alice", "1002", "bobs-bikes", "The wheel is bent.")
    sam = get_user_model().objects.create_user(
        "sam", "sam@marketplace.example", first_name="Sam", last_name="Staff", is_staff=True
    )
    sam.user_permissions.add(Permission.objects.get(codename="manage_conversations"))

    later = MONDAY_9AM + timedelta(hours=49)
    with time_machine.travel(later, tick=False):
        emails = sent(actions.escalate_overdue_disputes, now=later)

    email = emails["sam@marketplace.example"]
    assert email.subject == "Order #1002: dispute escalated to the store"
    assert "Hello Sam Staff," in email.body


def test_while_a_dispute_is_open_the_store_hears_every_message(post, dispute, sent):
    post("alice", "1002", "bobs-bikes", "Bent wheel")
    dispute.open("alice", "1002", "bobs-bikes", "The wheel is bent.")

    emails = sent(post, "bob", "1002", "bobs-bikes", "I will send a new wheel.")

    assert set(emails) == {ALICE, ADMIN, STORE_INBOX}


def test_a_guest_gets_a_signed_link_that_opens_their_order(post, sent):
    post(None, "1006", "daves-outdoor", "Warm enough?")

    emails = sent(post, "dave", "1006", "daves-outdoor", "Yes, down to -5.")

    assert set(emails) == {GINA}
    email = emails[GINA]
    assert "Hello Gina Guest," in email.body
    found = re.search(rf"{re.escape(SITE)}/messages/guest/([^/\s]+)/", email.body)
    assert found, email.body
    assert read_guest_token(found.group(1)) == ("1006", GINA)
    assert f'href="{found.group(0)}"' in html_part(email)
    assert "/orders/1006/" not in email.body.replace("/messages/orders/", "")

    client = Client()
    response = client.get(found.group(0).removeprefix(SITE), follow=True)
    assert response.status_code == 200
    assert "Yes, down to -5." in response.content.decode()


def test_a_guests_own_message_is_not_emailed_back(post, sent):
    emails = sent(post, None, "1006", "daves-outdoor", "Warm enough?")

    assert set(emails) == {DAVE}


def test_users_without_an_address_or_inactive_get_no_email(demo, post, sent):
    demo["bob"].email = ""
    demo["bob"].save()
    assert sent(post, "alice", "1002", "bobs-bikes", "Hello") == {}

    demo["dave"].is_active = False
    demo["dave"].save()
    assert sent(post, "alice", "1003", "daves-outdoor", "Hello") == {}


def test_one_failing_address_does_not_stop_the_others(post, dispute, sent):
    post("alice", "1002", "bobs-bikes", "Bent wheel")
    real_send = EmailBackend.send_messages

    def flaky(backend, messages):
        if messages[0].to == [ADMIN]:
            raise ConnectionError("mail server hiccup")
        return real_send(backend, messages)

    with mock.patch.object(EmailBackend, "send_messages", flaky):
        emails = sent(dispute.open, "alice", "1002", "bobs-bikes", "Bent.")

    assert set(emails) == {BOB, STORE_INBOX}
    waiting = Notification.objects.get(email=ADMIN)
    assert (waiting.status, waiting.attempts) == ("pending", 1)
    assert "mail server hiccup" in waiting.last_error


def test_a_rolled_back_message_leaves_no_e_mail_behind(post, mailoutbox):
    with pytest.raises(RuntimeError), transaction.atomic():
        post("alice", "1002", "bobs-bikes", "Hello")
        assert Notification.objects.filter(email=BOB).exists()  # written with the message
        raise RuntimeError("the request failed after posting")

    deliver_notifications()
    assert not Notification.objects.exists()
    assert mailoutbox == []


def test_the_e_mail_is_written_with_the_message_and_sent_by_the_worker(post, mailoutbox):
    post("alice", "1002", "bobs-bikes", "Hello")

    assert mailoutbox == []  # nothing leaves the request itself
    deliver_notifications()
    assert [email.to for email in mailoutbox] == [[BOB]]


# -- B4: when the store's orders address hears of a message -----------------------------------


def latest(number, vendor_key):
    return Message.objects.filter(conversation=conversation_of(number, vendor_key)).latest("seq")


def test_b4_a_customer_message_to_the_store_goes_to_the_store_inbox(post):
    post("alice", "1004", "store", "Hello store")

    assert store_inbox_wants(latest("1004", "store"))


def test_b4_a_vendor_conversation_without_dispute_does_not(post):
    post("alice", "1002", "bobs-bikes", "Hello Bob")
    assert not store_inbox_wants(latest("1002", "bobs-bikes"))

    post("bob", "1002", "bobs-bikes", "Hello Alice")
    assert not store_inbox_wants(latest("1002", "bobs-bikes"))


def test_b4_opening_and_closing_a_dispute_do(post, dispute):
    post("alice", "1002", "bobs-bikes")
    dispute.open("alice", "1002", "bobs-bikes")
    assert latest("1002", "bobs-bikes").kind == Message.Kind.DISPUTE_OPENED
    assert store_inbox_wants(latest("1002", "bobs-bikes"))

    dispute.close("alice", "1002", "bobs-bikes")
    assert latest("1002", "bobs-bikes").kind == Message.Kind.DISPUTE_CLOSED
    assert store_inbox_wants(latest("1002", "bobs-bikes"))


def test_b4_any_message_while_a_dispute_is_open_does(post, dispute):
    post("alice", "1002", "bobs-bikes")
    dispute.open("alice", "1002", "bobs-bikes")

    post("bob", "1002", "bobs-bikes", "Let me check")
    assert store_inbox_wants(latest("1002", "bobs-bikes"))

    dispute.close("alice", "1002", "bobs-bikes")
    post("bob", "1002", "bobs-bikes", "Glad it is solved")
    assert not store_inbox_wants(latest("1002", "bobs-bikes"))


def test_b4_store_staff_never_email_the_store_inbox(post, dispute):
    post("admin", "1004", "store", "Your gift card is on its way")
    assert not store_inbox_wants(latest("1004", "store"))

    dispute.open("admin", "1002", "bobs-bikes", "Opened by the store")
    assert not store_inbox_wants(latest("1002", "bobs-bikes"))


def test_b4_without_a_store_address_nothing_goes_there(post, dispute, settings, sent):
    settings.ORDER_MESSAGES_STORE_EMAIL = ""

    post("alice", "1004", "store", "Hello store")
    assert not store_inbox_wants(latest("1004", "store"))

    emails = sent(dispute.open, "alice", "1002", "bobs-bikes", "Broken")
    assert set(emails) == {BOB, ADMIN}


# -- header lines ---------------------------------------------------------------------------

header_names = st.sampled_from(
    ["Subject", "To", "From", "Reply-To", "Message-ID", "References", "List-Unsubscribe", "X-A"]
)
header_values = st.text(
    alphabet=st.sampled_from([*string.printable, " ", " ", "é", "\u202e"]), max_size=120
)


@given(name=header_names, value=header_values, linesep=st.sampled_from(["\n", "\r\n"]))
@example(name="Subject", value="=?utf-8?q?Gr=C3=BC=C3=9Fe?=", linesep="\r\n")
@example(name="Subject", value="a\tb; c, d", linesep="\r\n")
@example(name="Subject", value="x" * 69, linesep="\r\n")  # fits: 78 with "Subject: "
@example(name="Subject", value="x" * 70, linesep="\r\n")
@example(name="References", value=" ".join(["<om.a@marketplace.example>"] * 4), linesep="\n")
@examples(max_examples=600, deadline=None)
def test_the_e_mails_policy_writes_every_header_line_as_djangos_does(name, value, linesep):
    from email.policy import compat32

    from order_messages.notifications.email import compat32_unfolded

    mine, djangos = compat32_unfolded.clone(linesep=linesep), compat32.clone(linesep=linesep)
    for method in ("fold", "fold_binary"):  # text (as_string) and bytes (as_bytes, SMTP)
        try:
            expected = getattr(djangos, method)(name, value)
        except Exception as error:  # noqa: BLE001 — then ours must refuse it too
            with pytest.raises(type(error)):
                getattr(mine, method)(name, value)
            continue
        assert getattr(mine, method)(name, value) == expected


def test_a_notification_e_mail_is_the_bytes_djangos_policy_writes(post, sent):
    from email.generator import BytesGenerator
    from email.policy import compat32
    from io import BytesIO

    from order_messages.notifications.email import compat32_unfolded

    emails = sent(post, "alice", "1002", "bobs-bikes", "Grüße, and a long line " * 9)
    msg = emails[BOB].message()
    if django.VERSION >= (6, 0):
        # Django's own policy (email.policy.default), left as it is.
        assert msg.policy is not compat32_unfolded
        return
    assert msg.policy is compat32_unfolded
    ours = msg.as_bytes(linesep="\r\n")
    assert b"\r\nList-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n" in ours
    djangos = BytesIO()
    BytesGenerator(djangos, mangle_from_=False, policy=compat32.clone(linesep="\r\n")).flatten(msg)
    assert ours == djangos.getvalue()
