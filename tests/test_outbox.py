"""The notification outbox end to end (N1–N3): rows written with the message, delivered by
the worker through a real SMTP server (aiosmtpd), batched, threaded, retried, claimed by
racing workers, unsubscribed from and tuned on the preferences page."""

import re
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from io import StringIO
from pathlib import Path
from unittest import mock
from urllib.parse import urlsplit

import pytest
import time_machine
from django.core.mail.backends.smtp import EmailBackend as SMTPBackend
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.utils import timezone

import order_messages
from order_messages import actions
from order_messages.conf import app_settings
from order_messages.guest import read_guest_token
from order_messages.models import Mute, Notification, NotificationSettings
from order_messages.notifications import worker
from order_messages.notifications.email import language_of
from order_messages.notifications.outbox import next_digest_time
from order_messages.notifications.tokens import ReplyAddress, read_reply_address
from order_messages.notifications.worker import claim_due, deliver_due
from tests.conftest import (
    conversation_of,
    deliver_notifications,
    make_conversations,
    write_messages,
)
from tests.smtp import NO_SUCH_USER, TRY_AGAIN

pytestmark = pytest.mark.usefixtures("no_conversations")

SITE = "https://shop.example"
REPLY_DOMAIN = "reply.shop.example"
DELAY = 120  # ORDER_MESSAGES_EMAIL_BATCH_DELAY in these tests
FROM = "Demo Marketplace <shop@marketplace.example>"
STORE_INBOX = "orders@marketplace.example"
ALICE, BOB, DAVE = "alice@customers.example", "bob@bobs-bikes.example", "dave@daves-outdoor.example"
ADMIN, GINA = "admin@marketplace.example", "gina@guests.example"
PREFERENCES = "/messages/preferences/"
Status = Notification.Status


@pytest.fixture
def smtp(smtp, settings):
    """The SMTP server (tests/conftest.py), with this module's site, batching and retries."""
    settings.ORDER_MESSAGES_SITE_URL = SITE
    settings.ORDER_MESSAGES_MESSAGE_ID_DOMAIN = ""
    settings.ORDER_MESSAGES_REPLY_DOMAIN = REPLY_DOMAIN
    settings.ORDER_MESSAGES_EMAIL_BATCH_DELAY = DELAY
    settings.ORDER_MESSAGES_EMAIL_RETRY_BASE = 30
    settings.ORDER_MESSAGES_EMAIL_RETRY_MAX = 3600
    settings.ORDER_MESSAGES_EMAIL_MAX_ATTEMPTS = 8
    settings.ORDER_MESSAGES_EMAIL_CLAIM_SECONDS = 300
    assert settings.ORDER_MESSAGES_STORE_EMAIL == STORE_INBOX
    return smtp


@pytest.fixture(autouse=True)
def back_to_english():
    from django.utils import translation

    yield
    translation.deactivate()


# -- helpers ----------------------------------------------------------------------------------


def batch(email, number="1002", vendor_key="bobs-bikes"):
    """The one notification row for that address and conversation."""
    return Notification.objects.get(email=email, conversation=conversation_of(number, vendor_key))


def after_delay():
    return timezone.now() + timedelta(seconds=DELAY + 1)


def make_due(*rows):
    """Move the rows' (default: every pending row's) due time to now, as if time had passed.
    The worker then runs at the real now, so back-off is measured from the real clock."""
    pending = Notification.objects.filter(status=Status.PENDING)
    if rows:
        pending = pending.filter(pk__in=[row.pk for row in rows])
    pending.update(due_at=timezone.now() - timedelta(microseconds=1))


def only(messages):
    assert len(messages) == 1, [m["Subject"] for m in messages]
    return messages[0]


def text_of(message):
    return message.get_body(("plain",)).get_content()


def html_of(message):
    return message.get_body(("html",)).get_content()


def root_of(number, vendor_key):
    return f"<om.conversation.{conversation_of(number, vendor_key).pk}@shop.example>"


def header(message, name):
    """A header's value unfolded and trimmed: a long one (List-Unsubscribe) is folded
    before its first word, which leaves a space in front of the value."""
    value = message[name]
    return None if value is None else str(value).strip()


def unsubscribe_path(message):
    url = header(message, "List-Unsubscribe")
    assert url.startswith("<") and url.endswith(">"), url
    return urlsplit(url[1:-1]).path


def in_order(text, parts):
    positions = [text.index(part) for part in parts]
    return positions == sorted(positions)


# -- 1. a burst is one e-mail -------------------------------------------------------------------


@pytest.mark.parametrize("reply_domain", [REPLY_DOMAIN, ""], ids=["reply-by-email", "no-reply"])
def test_a_burst_of_messages_is_one_email_listing_them_all(
    demo, post, smtp, settings, reply_domain
):
    settings.ORDER_MESSAGES_REPLY_DOMAIN = reply_domain
    texts = ["Is the bike assembled?", "Also: are pedals included?", "Thanks in advance!"]
    for text in texts:
        post("alice", "1002", "bobs-bikes", text)
    row = batch(BOB)
    assert (row.first_seq, row.last_seq, row.status) == (1, 3, Status.PENDING)

    report = deliver_notifications()

    assert (report.sent, report.handled) == (1, 1)
    received = only(smtp.received)
    assert received.mail_from == "shop@marketplace.example"
    assert received.rcpt_tos == (BOB,)
    message = received.message
    assert message["Subject"] == "Order #1002: 3 new messages"
    assert message["From"] == FROM
    assert message["To"] == BOB
    assert message["Message-ID"] == row.message_id
    assert message.get_content_type() == "multipart/alternative"
    assert [part.get_content_type() for part in message.iter_parts()] == [
        "text/plain",
        "text/html",
    ]
    text, html = text_of(message), html_of(message)
    assert "3 new messages about Order #1002" in text
    assert in_order(text, texts)
    assert in_order(html, texts)
    root = root_of("1002", "bobs-bikes")
    assert message["References"].split()[0] == root
    assert message["In-Reply-To"] == root  # the first e-mail of the thread
    assert re.fullmatch(
        r"<https://shop\.example/messages/unsubscribe/[^/\s<>]+/>",
        header(message, "List-Unsubscribe"),
    )
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert message["Auto-Submitted"] == "auto-generated"
    today = timezone.localdate()
    if reply_domain:
        reply_to = str(message["Reply-To"])
        assert re.fullmatch(rf"reply\+[0-9a-z-]+@{re.escape(reply_domain)}", reply_to)
        conversation = conversation_of("1002", "bobs-bikes")
        assert read_reply_address(reply_to, today=today) == ReplyAddress(
            conversation.pk, demo["bob"].pk, today
        )
        assert "You can answer by replying to this e-mail." in text
    else:
        assert message["Reply-To"] is None
        assert "You can answer by replying" not in text
    row.refresh_from_db()
    # Every try counts, the one that succeeds too (as for webhooks: one engine).
    assert (row.status, row.attempts, row.last_error) == (Status.SENT, 1, "")
    assert row.sent_at is not None


def test_the_stores_orders_address_gets_no_reply_to(post, smtp):
    post("alice", "1004", "store", "About my gift card")

    deliver_notifications()

    to_store = only(smtp.messages(STORE_INBOX))
    to_admin = only(smtp.messages(ADMIN))
    assert to_store["Reply-To"] is None
    assert str(to_admin["Reply-To"]).endswith(f"@{REPLY_DOMAIN}")
    assert "About my gift card" in text_of(to_store)


# -- 2. threading ---------------------------------------------------------------------------


def test_later_emails_of_a_conversation_reply_to_the_earlier_ones(post, smtp):
    post("alice", "1002", "bobs-bikes", "First question")
    deliver_notifications()
    post("alice", "1002", "bobs-bikes", "Second question")
    deliver_notifications()
    post("alice", "1002", "bobs-bikes", "Third question")
    deliver_notifications()
    post("alice", "1001", "bobs-bikes", "About the helmet")
    deliver_notifications()

    first, second, third, other = smtp.messages(BOB)
    root = root_of("1002", "bobs-bikes")
    assert first["References"] == root
    assert second["In-Reply-To"] == first["Message-ID"]
    assert second["References"].split() == [root, first["Message-ID"]]
    assert third["In-Reply-To"] == second["Message-ID"]
    assert third["References"].split() == [root, first["Message-ID"], second["Message-ID"]]
    assert "Second question" in text_of(second)
    assert "First question" not in text_of(second)  # an e-mail tells only of its batch
    other_root = root_of("1001", "bobs-bikes")
    assert other_root != root
    assert other["References"] == other_root
    assert other["In-Reply-To"] == other_root
    assert len({m["Message-ID"] for m in (first, second, third, other)}) == 4


# -- 3. the batching delay ------------------------------------------------------------------


def test_a_fresh_message_waits_for_the_batching_delay(post, smtp):
    before = timezone.now()
    post("alice", "1002", "bobs-bikes", "Hello")
    row = batch(BOB)
    assert (
        before + timedelta(seconds=DELAY) <= row.due_at <= timezone.now() + timedelta(seconds=DELAY)
    )

    assert deliver_due().handled == 0  # the real now: the delay has not passed
    assert deliver_due(now=row.due_at - timedelta(seconds=1)).handled == 0
    assert smtp.received == []
    assert batch(BOB).status == Status.PENDING

    report = deliver_due(now=row.due_at)

    assert report.sent == 1
    assert only(smtp.messages(BOB))["Message-ID"] == row.message_id


def test_messages_after_the_batch_was_sent_start_a_new_batch(post, smtp):
    post("alice", "1002", "bobs-bikes", "One")
    deliver_notifications()
    post("alice", "1002", "bobs-bikes", "Two")
    post("alice", "1002", "bobs-bikes", "Three")

    rows = list(Notification.objects.filter(email=BOB).order_by("pk"))
    assert [(r.status, r.first_seq, r.last_seq) for r in rows] == [
        (Status.SENT, 1, 1),
        (Status.PENDING, 2, 3),
    ]
    deliver_notifications()
    assert "2 new messages" in text_of(smtp.messages(BOB)[1])


# -- 4. read before the delay -----------------------------------------------------------------


def test_a_batch_read_before_the_delay_is_not_sent(post, client_for, smtp):
    post("alice", "1002", "bobs-bikes", "Hello Bob")
    post("alice", "1002", "bobs-bikes", "Are you there?")

    response = client_for("bob").get("/messages/orders/1002/bobs-bikes/")
    assert response.status_code == 200
    report = deliver_notifications()

    assert (report.sent, report.skipped) == (0, 1)
    assert smtp.received == []
    row = batch(BOB)
    assert row.status == Status.SKIPPED
    assert row.sent_at is None


def test_a_partly_read_batch_lists_only_the_unread_messages(demo, post, smtp):
    post("alice", "1002", "bobs-bikes", "Already read one")
    post("alice", "1002", "bobs-bikes", "Already read two")
    actions.mark_read(conversation=conversation_of("1002", "bobs-bikes"), user=demo["bob"])
    post("alice", "1002", "bobs-bikes", "Unread three")
    post("alice", "1002", "bobs-bikes", "Unread four")
    assert (batch(BOB).first_seq, batch(BOB).last_seq) == (1, 4)

    deliver_notifications()

    message = only(smtp.messages(BOB))
    for part in (text_of(message), html_of(message)):
        assert in_order(part, ["Unread three", "Unread four"])
        assert "Already read" not in part
    assert "2 new messages" in text_of(message)


# -- 5. dispute events ----------------------------------------------------------------------


def test_dispute_emails_go_out_at_once_even_when_muted_or_switched_off(demo, post, dispute, smtp):
    post("alice", "1002", "bobs-bikes", "Bent wheel")
    actions.mute_conversation(conversation=conversation_of("1002", "bobs-bikes"), email=BOB)
    actions.save_email_preferences(user=demo["admin"], frequency="off", language="")

    dispute.open("alice", "1002", "bobs-bikes", "The wheel is bent.")
    report = deliver_due()  # the real now: dispute events are due at once

    assert report.sent == 3
    assert sorted(r.rcpt_tos[0] for r in smtp.received) == sorted([BOB, ADMIN, STORE_INBOX])
    for message in smtp.messages():
        assert message["Subject"] == "Order #1002: dispute opened"
        assert "The wheel is bent." in text_of(message)
    message_batch = Notification.objects.get(email=BOB, kind=Notification.Kind.MESSAGE)
    assert message_batch.status == Status.PENDING  # still inside its delay

    smtp.reset()
    report = deliver_notifications()
    assert report.skipped == 1  # Bob muted the conversation: no message e-mail
    assert smtp.received == []
    assert Notification.objects.get(pk=message_batch.pk).status == Status.SKIPPED

    dispute.close("admin", "1002", "bobs-bikes")
    deliver_due()
    # Alice had no dispute e-mail yet; Bob had one a moment ago, so his waits to fold
    # whatever else happens in the next minutes into it (ORDER_MESSAGES_DISPUTE_EMAIL_FOLD_*).
    assert [r.rcpt_tos[0] for r in smtp.received] == [ALICE]
    smtp.reset()
    deliver_due(now=timezone.now() + timedelta(seconds=app_settings.DISPUTE_EMAIL_FOLD_SECONDS))
    assert only(smtp.messages(BOB))["Subject"] == "Order #1002: dispute resolved"


# -- 6. refusals, retries, a server that is down ------------------------------------------------


@pytest.mark.parametrize("stage", ["DATA", "RCPT"])
def test_a_refused_email_is_retried_later_with_the_same_message_id(post, smtp, stage):
    post("alice", "1002", "bobs-bikes", "Hello")
    planned = batch(BOB).message_id
    smtp.refuse(1, TRY_AGAIN, stage=stage)
    make_due()

    before = timezone.now()
    report = deliver_due()
    after = timezone.now()

    assert (report.sent, report.retrying) == (0, 1)
    assert smtp.refused == [TRY_AGAIN] and smtp.received == []
    row = batch(BOB)
    assert (row.status, row.attempts) == (Status.PENDING, 1)
    assert "451" in row.last_error and "Try again later" in row.last_error
    base = timedelta(seconds=30)
    assert before + base <= row.due_at <= after + base
    assert row.message_id == planned

    assert deliver_due(now=row.due_at - timedelta(seconds=1)).handled == 0
    report = deliver_due(now=row.due_at)

    assert report.sent == 1
    received = only(smtp.received)
    assert received.rcpt_tos == (BOB,)
    assert received.message["Message-ID"] == planned
    row.refresh_from_db()
    assert (row.status, row.attempts, row.last_error) == (Status.SENT, 2, "")
    assert deliver_notifications(after=timedelta(days=30)).handled == 0
    assert len(smtp.received) == 1


def test_temporary_failures_back_off_exponentially_then_fail(post, smtp, settings):
    settings.ORDER_MESSAGES_EMAIL_RETRY_BASE = 30
    settings.ORDER_MESSAGES_EMAIL_RETRY_MAX = 200
    settings.ORDER_MESSAGES_EMAIL_MAX_ATTEMPTS = 6
    post("alice", "1002", "bobs-bikes", "Hello")
    row = batch(BOB)
    smtp.refuse(10, TRY_AGAIN)

    for attempt, delay in enumerate([30, 60, 120, 200, 200], start=1):
        make_due(row)
        before = timezone.now()
        report = deliver_due()
        after = timezone.now()
        assert report.retrying == 1, attempt
        row.refresh_from_db()
        assert (row.status, row.attempts) == (Status.PENDING, attempt)
        assert before + timedelta(seconds=delay) <= row.due_at <= after + timedelta(seconds=delay)

    make_due(row)
    report = deliver_due()

    assert (report.failed, report.retrying) == (1, 0)
    row.refresh_from_db()
    assert (row.status, row.attempts) == (Status.FAILED, 6)
    assert "451" in row.last_error
    assert len(smtp.refused) == 6 and smtp.received == []
    assert deliver_notifications(after=timedelta(days=30)).handled == 0  # given up for good
    assert len(smtp.refused) == 6


@pytest.mark.parametrize("stage", ["DATA", "RCPT"])
def test_a_permanent_refusal_fails_at_once(post, smtp, stage):
    post("alice", "1002", "bobs-bikes", "Hello")
    smtp.refuse(1, NO_SUCH_USER, stage=stage)

    report = deliver_notifications()

    assert (report.failed, report.retrying, report.sent) == (1, 0, 0)
    row = batch(BOB)
    assert (row.status, row.attempts) == (Status.FAILED, 1)
    assert "550" in row.last_error
    assert deliver_notifications(after=timedelta(days=30)).handled == 0
    assert smtp.received == [] and smtp.refused == [NO_SUCH_USER]


def test_one_refused_address_does_not_stop_the_others(post, dispute, smtp):
    post("alice", "1002", "bobs-bikes", "Bent wheel")
    dispute.open("alice", "1002", "bobs-bikes", "The wheel is bent.")
    first = Notification.objects.filter(kind="dispute_opened").order_by("due_at", "pk")[0]
    smtp.refuse(1, NO_SUCH_USER, stage="RCPT")

    report = deliver_due()

    assert (report.sent, report.failed) == (2, 1)
    assert Notification.objects.get(pk=first.pk).status == Status.FAILED
    received = sorted(r.rcpt_tos[0] for r in smtp.received)
    assert received == sorted({BOB, ADMIN, STORE_INBOX} - {first.email})


def test_while_the_mail_server_is_down_nothing_is_lost(post, smtp):
    post("alice", "1004", "store", "About my gift card")
    planned = dict(Notification.objects.values_list("email", "message_id"))
    assert set(planned) == {ADMIN, STORE_INBOX}
    smtp.stop()

    report = deliver_notifications()

    assert (report.retrying, report.sent, report.failed) == (2, 0, 0)
    for row in Notification.objects.all():
        assert (row.status, row.attempts) == (Status.PENDING, 1)
        assert row.last_error  # e.g. ConnectionRefusedError

    smtp.start()
    make_due()
    report = deliver_due()

    assert report.sent == 2
    assert sorted(r.rcpt_tos for r in smtp.received) == [(ADMIN,), (STORE_INBOX,)]
    for received in smtp.received:
        assert received.message["Message-ID"] == planned[received.rcpt_tos[0]]
    assert set(Notification.objects.values_list("status", flat=True)) == {Status.SENT}
    assert deliver_notifications(after=timedelta(days=30)).handled == 0
    assert len(smtp.received) == 2


def test_a_message_posted_while_its_batch_is_sent_survives_a_temporary_failure(post, smtp):
    post("alice", "1002", "bobs-bikes", "Written before the worker came")
    smtp.refuse(1, TRY_AGAIN)

    class PostWhileSending(SMTPBackend):
        """The worker has claimed the batch; Alice writes again before the server answers."""

        def send_messages(self, email_messages):
            post("alice", "1002", "bobs-bikes", "Written while the e-mail was on its way")
            return super().send_messages(email_messages)

    report = deliver_due(now=after_delay(), connection=PostWhileSending())

    assert report.retrying == 1
    for _ in range(3):
        make_due()
        deliver_due()
    texts = [text_of(m) for m in smtp.messages(BOB)]
    assert any("Written before the worker came" in t for t in texts)
    assert any("Written while the e-mail was on its way" in t for t in texts)
    assert not Notification.objects.filter(status__in=[Status.PENDING, Status.SENDING]).exists()


# -- 7. workers racing ------------------------------------------------------------------------


@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="SQLite has no SELECT … FOR UPDATE SKIP LOCKED"
)
@pytest.mark.django_db(transaction=True)
def test_four_racing_workers_send_every_email_exactly_once(demo, smtp):
    conversations = make_conversations(
        customer=demo["alice"], vendor_user=demo["bob"], count=100, start=9000
    ) + make_conversations(
        customer=demo["carol"],
        vendor_user=demo["dave"],
        count=100,
        start=9100,
        vendor=("daves-outdoor", "Dave's Outdoor"),
    )
    # Alternately the customer and the vendor writes: four recipients in all.
    write_messages(conversations, text="Message")
    rows = dict(Notification.objects.values_list("message_id", "email"))
    assert len(rows) == 200
    assert set(rows.values()) == {ALICE, BOB, "carol@customers.example", DAVE}
    at = after_delay()
    start = threading.Barrier(4)

    def worker():
        sent = 0
        try:
            start.wait(timeout=10)
            while True:
                report = deliver_due(limit=7, now=at)
                assert not report.errors, report.errors
                if not report.handled:
                    return sent
                sent += report.sent
        finally:
            connection.close()  # this thread's own connection

    with ThreadPoolExecutor(max_workers=4) as pool:
        futures = [pool.submit(worker) for _ in range(4)]
        sent_by_worker = [future.result(timeout=120) for future in futures]

    assert sum(sent_by_worker) == 200
    assert sum(1 for n in sent_by_worker if n) >= 2, sent_by_worker  # they did race
    assert Notification.objects.filter(status=Status.SENT).count() == 200
    received_ids = smtp.message_ids()
    assert len(received_ids) == 200
    assert sorted(received_ids) == sorted(rows)  # each planned Message-ID exactly once
    for received in smtp.received:
        assert received.rcpt_tos == (rows[received.message["Message-ID"]],)


# -- 8. a lapsed claim ------------------------------------------------------------------------


def test_the_claim_of_a_worker_that_died_lapses(post, smtp, settings):
    settings.ORDER_MESSAGES_EMAIL_CLAIM_SECONDS = 300
    post("alice", "1002", "bobs-bikes", "Hello")
    planned = batch(BOB).message_id
    at = after_delay()

    dead_claim, ids = claim_due(limit=10, now=at)  # …and the worker never comes back

    row = batch(BOB)
    assert ids == [row.pk]
    assert (row.status, row.claim) == (Status.SENDING, dead_claim)
    assert deliver_due(now=at).handled == 0
    assert deliver_due(now=at + timedelta(seconds=299)).handled == 0
    assert smtp.received == []

    report = deliver_due(now=at + timedelta(seconds=300))

    assert report.sent == 1
    assert only(smtp.received).message["Message-ID"] == planned
    row.refresh_from_db()
    assert row.status == Status.SENT
    assert row.claim != dead_claim
    assert deliver_notifications(after=timedelta(days=30)).handled == 0


# -- 9. one-click unsubscribe ----------------------------------------------------------------


@pytest.mark.parametrize("encoding", ["urlencoded", "multipart"])
def test_one_click_unsubscribe_mutes_only_that_address(post, smtp, encoding):
    post("alice", "1004", "store", "About my gift card")
    deliver_notifications()
    path = unsubscribe_path(only(smtp.messages(ADMIN)))
    mail_client = Client(enforce_csrf_checks=True)  # no session, no CSRF cookie

    if encoding == "urlencoded":
        response = mail_client.post(
            path, "List-Unsubscribe=One-Click", content_type="application/x-www-form-urlencoded"
        )
    else:
        response = mail_client.post(path, {"List-Unsubscribe": "One-Click"})

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    conversation = conversation_of("1004", "store")
    assert list(Mute.objects.values_list("conversation_id", "email")) == [(conversation.pk, ADMIN)]

    smtp.reset()
    post("alice", "1004", "store", "Another question")
    report = deliver_notifications()

    assert (report.sent, report.skipped) == (1, 1)
    assert [r.rcpt_tos for r in smtp.received] == [(STORE_INBOX,)]
    skipped = Notification.objects.get(email=ADMIN, status=Status.SKIPPED)
    assert skipped.last_seq == 2


def test_following_the_unsubscribe_link_asks_first_and_can_be_undone(post, smtp):
    post("alice", "1004", "store", "About my gift card")
    deliver_notifications()
    path = unsubscribe_path(only(smtp.messages(ADMIN)))
    browser = Client(enforce_csrf_checks=True)

    response = browser.get(path)  # a link checker, or the person before deciding

    assert response.status_code == 200
    page = response.content.decode()
    assert '<form method="post"' in page and "Stop these e-mails" in page
    assert ADMIN in page
    assert not Mute.objects.exists()

    response = browser.post(path)  # the button
    assert response.status_code == 200
    assert "gets no more e-mails" in response.content.decode()
    assert Mute.objects.filter(email=ADMIN).count() == 1

    response = browser.post(path, {"undo": "1"})
    assert response.status_code == 200
    assert not Mute.objects.exists()
    smtp.reset()
    post("alice", "1004", "store", "Another question")
    deliver_notifications()
    assert sorted(r.rcpt_tos[0] for r in smtp.received) == sorted([ADMIN, STORE_INBOX])


def test_a_tampered_unsubscribe_token_is_refused(post, smtp):
    post("alice", "1004", "store", "About my gift card")
    deliver_notifications()
    path = unsubscribe_path(only(smtp.messages(ADMIN)))
    token = path.rstrip("/").rsplit("/", 1)[1]
    tampered = token[:-1] + ("A" if token[-1] != "A" else "B")

    response = Client(enforce_csrf_checks=True).post(
        path.replace(token, tampered), {"List-Unsubscribe": "One-Click"}
    )

    assert response.status_code == 400
    assert not Mute.objects.exists()


def test_a_muted_conversation_is_listed_on_the_preferences_page_and_can_be_unmuted(
    demo, client_for, post, smtp
):
    post("alice", "1002", "bobs-bikes", "Hello")
    deliver_notifications()
    path = unsubscribe_path(only(smtp.messages(BOB)))
    Client(enforce_csrf_checks=True).post(path, {"List-Unsubscribe": "One-Click"})
    conversation = conversation_of("1002", "bobs-bikes")
    bob = client_for("bob")

    page = bob.get(PREFERENCES).content.decode()
    assert f"/messages/preferences/unmute/{conversation.pk}/" in page

    response = bob.post(f"/messages/preferences/unmute/{conversation.pk}/")
    assert response.status_code == 302
    assert not Mute.objects.exists()
    smtp.reset()
    post("alice", "1002", "bobs-bikes", "Hello again")
    deliver_notifications()
    assert "Hello again" in text_of(only(smtp.messages(BOB)))


# -- 10. the preferences page ---------------------------------------------------------------


def test_the_preferences_page_needs_a_login(demo):
    anonymous = Client()

    response = anonymous.get(PREFERENCES)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")

    response = anonymous.post(PREFERENCES, {"frequency": "off", "language": ""})
    assert response.status_code == 302
    assert not NotificationSettings.objects.exists()


def test_switching_message_emails_off_still_sends_dispute_emails(
    demo, client_for, post, dispute, smtp
):
    post("alice", "1002", "bobs-bikes", "Waiting already")
    bob = client_for("bob")
    assert bob.get(PREFERENCES).status_code == 200

    response = bob.post(PREFERENCES, {"frequency": "off", "language": ""})

    assert response.status_code == 302
    assert NotificationSettings.objects.get(user=demo["bob"]).frequency == "off"
    post("alice", "1001", "bobs-bikes", "Written after switching off")
    dispute.open("alice", "1002", "bobs-bikes", "The wheel is bent.")
    report = deliver_notifications()

    message = only(smtp.messages(BOB))
    assert message["Subject"] == "Order #1002: dispute opened"
    statuses = dict(
        Notification.objects.filter(email=BOB).values_list("kind", "status").order_by("kind")
    )
    assert statuses == {"message": Status.SKIPPED, "dispute_opened": Status.SENT}
    assert not Notification.objects.filter(
        email=BOB, conversation=conversation_of("1001", "bobs-bikes")
    ).exists()
    assert report.skipped == 1


def test_a_digest_brings_several_conversations_in_one_email(demo, client_for, post, smtp):
    response = client_for("bob").post(PREFERENCES, {"frequency": "digest", "language": ""})
    assert response.status_code == 302
    posted_at = timezone.now()

    post("alice", "1002", "bobs-bikes", "Question about the bike")
    post("alice", "1001", "bobs-bikes", "Question about the helmet")
    post("carol", "1005", "bobs-bikes", "Carol asks about her lock")
    post("alice", "1002", "bobs-bikes", "Follow-up about the bike")

    rows = list(Notification.objects.filter(email=BOB).order_by("due_at", "pk"))
    assert len(rows) == 3 and all(row.digest for row in rows)
    due = next_digest_time(posted_at)
    assert {row.due_at for row in rows} == {due}
    local = timezone.localtime(due)
    assert (local.hour, local.minute) == (app_settings.DIGEST_HOUR, 0)
    assert posted_at < due <= posted_at + timedelta(days=1)
    assert deliver_due(now=due - timedelta(seconds=1)).handled == 0

    report = deliver_due(now=due)

    assert report.sent == 3  # three rows, one e-mail
    message = only(smtp.messages())
    assert message["To"] == BOB
    assert message["Subject"] == "4 unread messages"
    assert message["Message-ID"] == rows[0].message_id
    text = text_of(message)
    for body in (
        "Question about the bike",
        "Follow-up about the bike",
        "Question about the helmet",
        "Carol asks about her lock",
    ):
        assert body in text and body in html_of(message)
    assert text.count("== ") == 3  # a section per conversation
    assert set(Notification.objects.filter(email=BOB).values_list("status", flat=True)) == {
        Status.SENT
    }


def test_emails_come_in_the_language_chosen_on_the_preferences_page(demo, client_for, post, smtp):
    catalogue = Path(order_messages.__file__).parent / "locale/de/LC_MESSAGES/django.mo"
    assert catalogue.exists()
    response = client_for("bob").post(PREFERENCES, {"frequency": "each", "language": "de"})
    assert response.status_code == 302

    post("alice", "1002", "bobs-bikes", "Ist das Rad montiert?")
    assert language_of(batch(BOB)) == "de"
    deliver_notifications()

    message = only(smtp.messages(BOB))
    assert message["Subject"] == "Bestellung #1002: neue Nachricht"
    assert "Eine neue Nachricht zu" in text_of(message)

    post("bob", "1002", "bobs-bikes", "Yes, it is.")
    deliver_notifications()
    assert only(smtp.messages(ALICE))["Subject"] == "Order #1002: new message"  # hers is English


def test_the_preferences_page_names_the_language_of_e_mails_left_to_the_shop(
    demo, client_for, monkeypatch
):
    from demo.store.adapter import DemoStoreAdapter

    page = client_for("alice").get(PREFERENCES).content.decode()
    assert '<option value="" selected>The shop&#x27;s language (English)</option>' in page
    # The store knows Alice's language: that is the one named.
    monkeypatch.setattr(DemoStoreAdapter, "get_user_language", lambda self, user: "de")
    page = client_for("alice").get(PREFERENCES).content.decode()
    assert "The shop&#x27;s language (Deutsch)</option>" in page


# -- 11. the management command ---------------------------------------------------------------


def test_the_command_delivers_what_is_due_and_prints_a_summary(post, dispute, smtp):
    post("alice", "1002", "bobs-bikes", "Not due for a while")
    dispute.open("alice", "1002", "bobs-bikes", "The wheel is bent.")
    out = StringIO()

    call_command("deliver_notifications", "--once", stdout=out)

    assert out.getvalue().strip() == "sent 3, not needed 0, to retry 0, failed 0"
    assert sorted(r.rcpt_tos[0] for r in smtp.received) == sorted([BOB, ADMIN, STORE_INBOX])
    assert Notification.objects.get(email=BOB, kind="message").status == Status.PENDING

    out = StringIO()
    call_command("deliver_notifications", "--once", stdout=out)
    assert out.getvalue().strip() == "sent 0, not needed 0, to retry 0, failed 0"


# -- 12. guests -------------------------------------------------------------------------------


@pytest.mark.parametrize("reply_domain", [REPLY_DOMAIN, ""], ids=["reply-by-email", "no-reply"])
def test_a_vendors_answer_reaches_the_guest_with_a_signed_link(post, smtp, settings, reply_domain):
    settings.ORDER_MESSAGES_REPLY_DOMAIN = reply_domain
    post(None, "1006", "daves-outdoor", "Warm enough?")
    post("dave", "1006", "daves-outdoor", "Yes, down to -5.")

    deliver_notifications()

    received = only([r for r in smtp.received if GINA in r.rcpt_tos])
    assert received.rcpt_tos == (GINA,)
    message = received.message
    text = text_of(message)
    assert "Hello Gina Guest," in text
    assert "Yes, down to -5." in text
    found = re.search(rf"{re.escape(SITE)}/messages/guest/([^/\s]+)/", text)
    assert found, text
    assert read_guest_token(found.group(1)) == ("1006", GINA)
    assert f'href="{found.group(0)}"' in html_of(message)
    assert PREFERENCES not in text  # a guest has no preferences page
    if reply_domain:
        reply_to = str(message["Reply-To"])
        local = reply_to.partition("@")[0]
        assert local.split("-")[1] == "0"  # the guest's user part
        today = timezone.localdate()
        assert read_reply_address(reply_to, today=today) == ReplyAddress(
            conversation_of("1006", "daves-outdoor").pk, None, today
        )
    else:
        assert message["Reply-To"] is None

    response = Client().get(found.group(0).removeprefix(SITE), follow=True)
    assert response.status_code == 200
    assert "Yes, down to -5." in response.content.decode()


def test_after_a_digest_emails_refer_only_to_message_ids_that_were_sent(
    demo, client_for, post, smtp
):
    client_for("bob").post(PREFERENCES, {"frequency": "digest", "language": ""})
    post("alice", "1002", "bobs-bikes", "Bike question")
    post("alice", "1001", "bobs-bikes", "Helmet question")
    deliver_notifications()
    digest = only(smtp.messages(BOB))

    client_for("bob").post(PREFERENCES, {"frequency": "each", "language": ""})
    post("alice", "1002", "bobs-bikes", "Another bike question")
    post("alice", "1001", "bobs-bikes", "Another helmet question")
    deliver_notifications()

    sent_ids = {m["Message-ID"] for m in smtp.messages(BOB)}
    assert len(sent_ids) == 3
    for message in smtp.messages(BOB)[1:]:
        root, *earlier = message["References"].split()
        assert root.startswith("<om.conversation.")
        assert set(earlier) <= sent_ids, (message["Subject"], earlier, digest["Message-ID"])
        assert message["In-Reply-To"] in sent_ids | {root}


def test_a_mail_server_refusing_the_login_fails_no_e_mail_for_good(post, settings):
    """A 5xx while connecting (here a wrong password) is the connection's fault: the
    e-mails wait for the next try instead of being marked failed."""
    import smtplib
    from unittest import mock

    post("alice", "1002", "bobs-bikes", "Hello Bob")
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    refused = smtplib.SMTPAuthenticationError(535, b"5.7.8 Authentication failed")
    with mock.patch.object(SMTPBackend, "open", side_effect=refused):
        report = deliver_due(now=after_delay())

    assert (report.retrying, report.failed) == (1, 0)
    row = Notification.objects.get(email=BOB)
    assert (row.status, row.attempts) == (Status.PENDING, 1)
    assert "Authentication failed" in row.last_error


def test_rows_another_worker_took_over_are_not_sent_again(post, smtp, settings):
    """A slow mail server let the first worker's claim lapse while it sent its round's first
    e-mail; a second worker claimed the rest. The first must not send them too."""
    settings.ORDER_MESSAGES_EMAIL_CLAIM_SECONDS = 300
    post("alice", "1001", "bobs-bikes", "To Bob")
    post("alice", "1001", "daves-outdoor", "To Dave")
    taken = {}

    class Slow(SMTPBackend):
        def send_messages(self, email_messages):
            sent = super().send_messages(email_messages)
            if not taken:  # the first e-mail took 301 seconds, and meanwhile…
                clock.shift(timedelta(seconds=301))
                taken["claim"], taken["ids"] = claim_due(limit=10, now=timezone.now())
            return sent

    with time_machine.travel(after_delay(), tick=False) as clock:
        report = deliver_due(connection=Slow())

    assert len(smtp.received) == 1  # the second e-mail was left to the second worker
    rows = Notification.objects.filter(pk__in=taken["ids"])
    assert {(row.status, row.claim) for row in rows} == {(Status.SENDING, taken["claim"])}
    assert len(rows) == 2  # the first too: the second worker sends it again, same Message-ID
    assert report.sent == 0  # nothing written over the second worker's claim


def test_a_broken_digest_template_fails_its_rows_and_not_the_worker(demo, post, smtp, settings):
    from order_messages.models import NotificationSettings

    NotificationSettings.objects.create(user=demo["bob"], frequency="digest")
    post("alice", "1002", "bobs-bikes", "For the digest")
    post("dave", "1003", "daves-outdoor", "Single e-mail for Alice")

    with mock.patch.object(worker, "prepare_digest", side_effect=ValueError("broken template")):
        report = deliver_notifications()

    assert report.sent == 1  # Alice's e-mail still went out
    digest_row = Notification.objects.get(email=BOB)
    assert digest_row.status == Status.FAILED and "broken template" in digest_row.last_error


def test_someone_who_left_the_vendor_gets_no_more_of_its_messages(demo, post, smtp):
    post("alice", "1002", "bobs-bikes", "Hello Bob")
    from demo.store.models import Vendor

    Vendor.objects.get(slug="bobs-bikes").staff.remove(demo["bob"])

    deliver_notifications()

    assert smtp.messages(BOB) == []
    row = Notification.objects.get(email=BOB)
    assert row.status == Status.SKIPPED and "no longer allowed" in row.last_error
