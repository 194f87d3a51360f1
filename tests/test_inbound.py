"""Replies by e-mail (N4): signed reply addresses, what is posted, what is kept for staff,
what is ignored, and the two ways mail comes in (an MTA pipe and provider webhooks)."""

import hashlib
import hmac
import io
import time
from datetime import date, timedelta
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

import pytest
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from order_messages.models import InboundMail, Message
from order_messages.notifications import inbound
from order_messages.notifications.tokens import (
    ExpiredReplyAddress,
    InvalidReplyAddress,
    make_reply_address,
    read_reply_address,
)
from tests.conftest import conversation_of, unread_of

pytestmark = pytest.mark.usefixtures("no_conversations")

DOMAIN = "reply.shop.example"
ALICE, BOB, GINA = "alice@customers.example", "bob@bobs-bikes.example", "gina@guests.example"


@pytest.fixture(autouse=True)
def reply_domain(settings):
    settings.ORDER_MESSAGES_REPLY_DOMAIN = DOMAIN
    settings.ORDER_MESSAGES_INBOUND_RATE_LIMIT = 5


@pytest.fixture
def helmet(post, demo):
    """Bob wrote to Alice about #1002: she is answering his e-mail."""
    post("alice", "1002", "bobs-bikes", "Is the bike assembled?")
    post("bob", "1002", "bobs-bikes", "Yes, fully assembled.")
    return conversation_of("1002", "bobs-bikes")


def address_for(conversation, user, *, today=None):
    return make_reply_address(
        conversation_id=conversation.pk,
        user_id=user.pk if user else None,
        email=user.email if user else conversation.customer_email,
        today=today or timezone.localdate(),
    )


def reply(*, sender, to, body, quote="Yes, fully assembled.", headers=None, message_id=None):
    """A reply as Gmail writes it: the new text, an attribution line, the quoted e-mail."""
    email = EmailMessage()
    email["From"] = f"Someone <{sender}>"
    email["To"] = to
    email["Subject"] = "Re: Order #1002: new message"
    email["Date"] = format_datetime(timezone.now())
    email["Message-ID"] = message_id or make_msgid(domain="mail.example")
    for name, value in (headers or {}).items():
        email[name] = value
    email.set_content(
        f"{body}\n\nOn Sun, Nov 22, 2026 at 10:02 AM Bob Baker <{BOB}> wrote:\n\n> {quote}\n"
    )
    return email.as_bytes()


def last_message(conversation):
    return Message.objects.filter(conversation=conversation).latest("seq")


# -- reply addresses ----------------------------------------------------------------------------


def test_a_reply_address_names_its_conversation_and_recipient(helmet, demo):
    address = address_for(helmet, demo["alice"])

    assert address.endswith("@" + DOMAIN) and len(address.partition("@")[0]) <= 64
    found = read_reply_address(address, today=timezone.localdate())
    assert (found.conversation_id, found.user_id) == (helmet.pk, demo["alice"].pk)
    # Mail systems may change case; the address still works.
    assert (
        read_reply_address(address.upper(), today=timezone.localdate()).user_id == demo["alice"].pk
    )


@pytest.mark.parametrize(
    "tamper",
    [
        lambda a: a.replace("reply+", "reply+1"),  # another conversation
        lambda a: (
            a[: a.index("@") - 1] + ("a" if a[a.index("@") - 1] != "a" else "b") + a[a.index("@") :]
        ),
        lambda a: a.replace(DOMAIN, "evil.example"),
        lambda a: "reply+" + a.partition("+")[2].replace("-", "", 1),
        lambda a: "postmaster@" + DOMAIN,
    ],
)
def test_a_tampered_reply_address_is_refused(helmet, demo, tamper):
    address = tamper(address_for(helmet, demo["alice"]))

    with pytest.raises(InvalidReplyAddress):
        read_reply_address(address, today=timezone.localdate())


def test_a_reply_address_expires(helmet, demo, settings):
    settings.ORDER_MESSAGES_REPLY_ADDRESS_MAX_AGE_DAYS = 30
    issued = date(2026, 1, 1)
    address = address_for(helmet, demo["alice"], today=issued)

    assert read_reply_address(address, today=issued + timedelta(days=30))
    with pytest.raises(ExpiredReplyAddress):
        read_reply_address(address, today=issued + timedelta(days=31))


def test_without_a_reply_domain_there_is_no_reply_address(helmet, demo, settings):
    settings.ORDER_MESSAGES_REPLY_DOMAIN = ""

    assert address_for(helmet, demo["alice"]) == ""


# -- what is posted -------------------------------------------------------------------------------


def test_a_reply_is_posted_as_the_senders_message_without_the_quote(helmet, demo):
    raw = reply(sender=ALICE, to=address_for(helmet, demo["alice"]), body="Great, thanks!")

    outcome = inbound.receive(raw)

    assert (outcome.status, outcome.exit_code) == ("posted", 0)
    message = last_message(helmet)
    assert message.body == "Great, thanks!"
    assert (message.author, message.author_role) == (demo["alice"], "customer")
    assert unread_of(demo["bob"], "1002", "bobs-bikes") == 1
    assert outcome.inbound.posted == message
    assert outcome.inbound.conversation == helmet


def test_the_same_address_works_for_several_replies(helmet, demo):
    address = address_for(helmet, demo["alice"])

    inbound.receive(reply(sender=ALICE, to=address, body="First"))
    inbound.receive(reply(sender=ALICE, to=address, body="Second"))

    assert [m.body for m in Message.objects.filter(conversation=helmet).order_by("seq")][-2:] == [
        "First",
        "Second",
    ]


def test_the_envelope_recipient_counts_when_to_is_another_address(helmet, demo):
    raw = reply(sender=ALICE, to="Shop <shop@marketplace.example>", body="Via Bcc")

    outcome = inbound.receive(raw, envelope_recipient=address_for(helmet, demo["alice"]))

    assert outcome.status == "posted"
    assert last_message(helmet).body == "Via Bcc"


def test_a_guest_answers_by_e_mail(post, demo):
    post("dave", "1006", "daves-outdoor", "Yes, rated to −8 °C.")
    conversation = conversation_of("1006", "daves-outdoor")
    raw = reply(sender=GINA, to=address_for(conversation, None), body="Then I'll keep it!")

    outcome = inbound.receive(raw)

    assert outcome.status == "posted"
    message = last_message(conversation)
    assert (message.body, message.author, message.author_role) == (
        "Then I'll keep it!",
        None,
        "customer",
    )


def test_a_vendor_answers_by_e_mail(helmet, demo):
    raw = reply(sender=BOB, to=address_for(helmet, demo["bob"]), body="Anything else?")

    assert inbound.receive(raw).status == "posted"
    assert last_message(helmet).author_role == "vendor"


def test_the_same_e_mail_delivered_twice_is_posted_once(helmet, demo):
    raw = reply(sender=ALICE, to=address_for(helmet, demo["alice"]), body="Only once")

    assert inbound.receive(raw).status == "posted"
    assert inbound.receive(raw).status == "duplicate"

    assert Message.objects.filter(conversation=helmet, body="Only once").count() == 1


# -- what is kept for staff -----------------------------------------------------------------------


def assert_kept(outcome, reason, conversation):
    assert outcome.status == "unrouted"
    assert reason in outcome.reason
    assert outcome.inbound.status == InboundMail.Status.UNROUTED
    assert outcome.inbound.raw  # staff can read what came
    assert not Message.objects.filter(conversation=conversation, body__contains="Sneaky").exists()


def test_a_forged_reply_address_is_kept_for_staff_and_not_posted(helmet, demo):
    address = address_for(helmet, demo["alice"])
    forged = address.replace(address.split("-")[-1][:4], "aaaa")

    outcome = inbound.receive(reply(sender=ALICE, to=forged, body="Sneaky"))

    assert_kept(outcome, "forged", helmet)
    assert outcome.exit_code == 0  # no bounce to a sender who may be forged too


def test_an_expired_reply_address_is_kept_and_bounced(helmet, demo, settings):
    settings.ORDER_MESSAGES_REPLY_ADDRESS_MAX_AGE_DAYS = 30
    old = address_for(helmet, demo["alice"], today=timezone.localdate() - timedelta(days=40))

    outcome = inbound.receive(reply(sender=ALICE, to=old, body="Sneaky late"))

    assert_kept(outcome, "expired", helmet)
    assert outcome.exit_code == inbound.EX_NOUSER


def test_someone_else_using_a_customers_reply_address_is_not_posted(helmet, demo):
    raw = reply(sender="mallory@evil.example", to=address_for(helmet, demo["alice"]), body="Sneaky")

    assert_kept(inbound.receive(raw), "sender does not match", helmet)


def test_another_customer_cannot_answer_with_his_own_address_for_the_conversation(helmet, demo):
    raw = reply(
        sender="carol@customers.example", to=address_for(helmet, demo["carol"]), body="Sneaky"
    )

    assert_kept(inbound.receive(raw), "may no longer write here", helmet)


def test_a_reply_with_nothing_but_the_quote_is_kept(helmet, demo):
    raw = reply(sender=ALICE, to=address_for(helmet, demo["alice"]), body="")

    outcome = inbound.receive(raw)

    assert outcome.status == "unrouted" and "quoted" in outcome.reason


def test_mail_without_a_reply_address_is_kept(helmet):
    outcome = inbound.receive(reply(sender=ALICE, to="orders@marketplace.example", body="Hi"))

    assert outcome.status == "unrouted" and outcome.reason == "no reply address"


# -- what is ignored -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "headers",
    [
        {"Auto-Submitted": "auto-replied"},
        {"Auto-Submitted": "auto-generated"},
        {"Precedence": "bulk"},
        {"Precedence": "auto_reply"},
        {"X-Autoreply": "yes"},
        {"Return-Path": "<>"},
        {"List-Id": "<news.example>"},
    ],
)
def test_automatic_replies_and_bounces_are_never_posted(helmet, demo, headers):
    raw = reply(
        sender=ALICE, to=address_for(helmet, demo["alice"]), body="I am on holiday", headers=headers
    )

    outcome = inbound.receive(raw)

    assert (outcome.status, outcome.exit_code) == ("ignored", 0)
    assert not Message.objects.filter(body__contains="holiday").exists()


def test_a_bounce_from_the_mailer_daemon_is_ignored(helmet, demo):
    raw = reply(
        sender="MAILER-DAEMON@mx.example", to=address_for(helmet, demo["alice"]), body="Undelivered"
    )

    assert inbound.receive(raw).status == "ignored"


def test_auto_submitted_no_is_a_person(helmet, demo):
    raw = reply(
        sender=ALICE,
        to=address_for(helmet, demo["alice"]),
        body="Typed by me",
        headers={"Auto-Submitted": "no"},
    )

    assert inbound.receive(raw).status == "posted"


def test_each_sender_has_a_rate_limit(helmet, demo):
    address = address_for(helmet, demo["alice"])
    for i in range(5):
        assert (
            inbound.receive(reply(sender=ALICE, to=address, body=f"Reply {i}")).status == "posted"
        )

    with pytest.raises(inbound.RateLimited):
        inbound.receive(reply(sender=ALICE, to=address, body="One too many"))
    assert not Message.objects.filter(body="One too many").exists()


def test_an_oversized_e_mail_is_refused(helmet, demo, settings):
    settings.ORDER_MESSAGES_INBOUND_MAX_BYTES = 2000
    raw = reply(sender=ALICE, to=address_for(helmet, demo["alice"]), body="x" * 3000)

    outcome = inbound.receive(raw)

    assert (outcome.status, outcome.exit_code) == ("unrouted", inbound.EX_DATAERR)


# -- the MTA pipe ---------------------------------------------------------------------------------


class Stdin:
    def __init__(self, data: bytes):
        self.buffer = io.BytesIO(data)


def run_receive_email(monkeypatch, raw, *args):
    monkeypatch.setattr("sys.stdin", Stdin(raw))
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command("receive_email", *args, stdout=out, stderr=err)
    except SystemExit as exit:
        return exit.code, out.getvalue(), err.getvalue()
    return 0, out.getvalue(), err.getvalue()


def test_the_pipe_command_posts_a_reply(helmet, demo, monkeypatch):
    raw = reply(sender=ALICE, to=address_for(helmet, demo["alice"]), body="From the pipe")

    code, out, _ = run_receive_email(monkeypatch, raw)

    assert code == 0 and out.startswith("posted")
    assert last_message(helmet).body == "From the pipe"


def test_the_pipe_command_bounces_an_expired_address_with_an_explanation(helmet, demo, monkeypatch):
    old = address_for(helmet, demo["alice"], today=timezone.localdate() - timedelta(days=400))

    code, _, err = run_receive_email(monkeypatch, reply(sender=ALICE, to=old, body="Late"))

    assert code == 67
    assert "expired" in err


def test_the_pipe_command_asks_the_mta_to_retry_when_rate_limited(helmet, demo, monkeypatch):
    address = address_for(helmet, demo["alice"])
    for i in range(5):
        inbound.receive(reply(sender=ALICE, to=address, body=f"Reply {i}"))

    code, _, err = run_receive_email(monkeypatch, reply(sender=ALICE, to=address, body="Later"))

    assert code == 75 and "try again later" in err


def test_the_pipe_command_takes_the_envelope_recipient(helmet, demo, monkeypatch):
    raw = reply(sender=ALICE, to="shop@marketplace.example", body="Envelope")

    code, out, _ = run_receive_email(
        monkeypatch, raw, "--recipient", address_for(helmet, demo["alice"])
    )

    assert (code, out.strip()) == (0, "posted")


# -- provider webhooks (django-anymail) ------------------------------------------------------------


def mailgun_post(raw, *, key="demo", secret="demo:demo"):
    timestamp, token = str(int(time.time())), "a" * 50
    signature = hmac.new(key.encode(), f"{timestamp}{token}".encode(), hashlib.sha256).hexdigest()
    client = Client()
    return client.post(
        "/anymail/mailgun/inbound_mime/",
        {
            "body-mime": raw.decode(),
            "timestamp": timestamp,
            "token": token,
            "signature": signature,
            "recipient": "",
        },
        headers={"authorization": "Basic ZGVtbzpkZW1v"} if secret else {},
    )


def test_a_reply_through_a_provider_webhook_is_posted(helmet, demo):
    raw = reply(sender=ALICE, to=address_for(helmet, demo["alice"]), body="Via Mailgun")

    response = mailgun_post(raw)

    assert response.status_code == 200
    assert last_message(helmet).body == "Via Mailgun"


def test_a_webhook_call_with_a_bad_signature_posts_nothing(helmet, demo):
    raw = reply(sender=ALICE, to=address_for(helmet, demo["alice"]), body="Sneaky webhook")

    response = mailgun_post(raw, key="wrong")

    assert response.status_code == 400
    assert not Message.objects.filter(body="Sneaky webhook").exists()


def test_rate_limited_webhook_mail_is_kept_for_staff(helmet, demo):
    address = address_for(helmet, demo["alice"])
    for i in range(5):
        inbound.receive(reply(sender=ALICE, to=address, body=f"Reply {i}"))

    assert mailgun_post(reply(sender=ALICE, to=address, body="Flood")).status_code == 200

    kept = InboundMail.objects.get(reason="rate limited")
    assert kept.sender == ALICE and "Flood" in kept.raw
    assert not Message.objects.filter(body="Flood").exists()


def test_our_own_notification_bounced_back_into_a_reply_address_is_not_posted(helmet, demo):
    """A loop: the shop's e-mail forwarded (or auto-forwarded) to a reply address."""
    address = address_for(helmet, demo["alice"])
    own = reply(sender="shop@marketplace.example", to=address, body="Order #1002: new message")
    via_reply_address = reply(sender=address, to=address, body="Looping")

    assert inbound.receive(own).status == "ignored"
    assert inbound.receive(via_reply_address).status == "ignored"
    assert not Message.objects.filter(body__in=["Order #1002: new message", "Looping"]).exists()


def test_a_reply_to_a_real_notification_e_mail_is_posted(helmet, demo, settings, mailoutbox):
    """The whole round trip: the e-mail the worker sends, answered as a mail client does."""
    from tests.conftest import deliver_notifications

    deliver_notifications()
    (to_alice,) = [m for m in mailoutbox if m.to == [ALICE]]
    sent = to_alice.message()
    answer = reply(
        sender=ALICE,
        to=sent["Reply-To"],
        body="Thanks, that answers it.",
        quote=to_alice.body.splitlines()[2],
        headers={"In-Reply-To": sent["Message-ID"], "References": sent["Message-ID"]},
    )

    assert inbound.receive(answer).status == "posted"
    assert last_message(helmet).body == "Thanks, that answers it."


def test_nul_bytes_in_the_headers_are_no_server_error(helmet, demo):
    raw = reply(sender=ALICE, to=address_for(helmet, demo["alice"]), body="Hi").replace(
        b"Message-ID: <", b"Message-ID: <\x00", 1
    )
    raw = raw.replace(b"From: Someone <alice", b"From: Some\x00one <alice", 1)

    assert inbound.receive(raw).status in ("posted", "unrouted")


def test_a_malformed_address_header_is_kept_for_staff_not_a_crash(helmet, demo, monkeypatch):
    raw = reply(sender=ALICE, to=address_for(helmet, demo["alice"]), body="Hi").replace(
        b"Subject:", b'Cc: "a" <\nSubject:', 1
    )

    outcome = inbound.receive(raw)

    assert outcome.status in ("unrouted", "posted")
    if outcome.status == "unrouted":
        assert outcome.exit_code == inbound.EX_DATAERR and outcome.inbound.raw
    code, _, _ = run_receive_email(monkeypatch, raw)
    assert code in (0, 65)
