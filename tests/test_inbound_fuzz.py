"""Hostile inbound mail (N4, SPEC 9 "bad input"): arbitrary bytes, header values and MIME
structures sent to a valid signed reply address from the right sender, so that they get as
far into ``receive`` as a real reply does. Whatever arrives is kept (one InboundMail row),
at most one message is posted, and a posted message is text a person could have typed."""

from __future__ import annotations

import base64
import email
import email.policy
import io

import pytest
from django.core.management import call_command
from django.db import transaction
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from order_messages.conf import app_settings
from order_messages.models import Attachment, InboundMail, Message
from order_messages.notifications import inbound
from order_messages.notifications.replies import reply_text, strip_quoted
from order_messages.notifications.tokens import make_reply_address
from tests.conftest import assert_counters_exact, conversation_of, fuzz_examples

pytestmark = pytest.mark.usefixtures("no_conversations")

ALICE = "alice@customers.example"
EXAMPLES = settings(
    max_examples=fuzz_examples(200),
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@pytest.fixture
def address(settings, post, demo):
    """Alice's signed reply address for her conversation about #1002 with Bob's Bikes."""
    settings.ORDER_MESSAGES_REPLY_DOMAIN = "reply.shop.example"
    # Hundreds of mails from one sender: the limit is tested in test_inbound.py.
    settings.ORDER_MESSAGES_INBOUND_RATE_LIMIT = 10**6
    post("alice", "1002", "bobs-bikes", "Is the bike assembled?")
    post("bob", "1002", "bobs-bikes", "Yes, fully assembled.")
    conversation = conversation_of("1002", "bobs-bikes")
    return make_reply_address(
        conversation_id=conversation.pk,
        user_id=demo["alice"].pk,
        email=demo["alice"].email,
        today=timezone.localdate(),
    )


class Undo(Exception):
    """Rolls back what one example wrote, so that each starts from the same conversation."""


def check_receive(raw: bytes, *, envelope: str) -> None:
    """The properties every inbound e-mail must keep."""
    try:
        with transaction.atomic():
            mails, messages = InboundMail.objects.count(), Message.objects.count()
            outcome = inbound.receive(raw, envelope_recipient=envelope)

            assert InboundMail.objects.count() == mails + 1
            posted = list(Message.objects.order_by("pk")[messages:])
            assert len(posted) == (1 if outcome.status == InboundMail.Status.POSTED else 0)
            assert outcome.inbound is not None and outcome.inbound.pk
            for message in posted:
                # Text, or files alone (a reply of photos).
                assert message.body or message.attachments.exists()
                assert message.body == message.body.strip()
                assert "\x00" not in message.body and "\r" not in message.body
                assert len(message.body) <= app_settings.MAX_MESSAGE_LENGTH
                message.body.encode("utf-8")  # no unpaired surrogates
                assert outcome.inbound.posted_id == message.pk
            kept = InboundMail.objects.get(pk=outcome.inbound.pk)
            assert "\x00" not in kept.raw + kept.subject + kept.sender + kept.reason
            assert not Attachment.objects.filter(message__isnull=True).exists()
            raise Undo
    except Undo:
        pass


def headers(*, to: str, extra: bytes = b"") -> bytes:
    return (
        f"From: Alice Archer <{ALICE}>\r\nTo: {to}\r\n"
        "Subject: Re: Order #1002: new message\r\n"
        "Date: Wed, 02 Dec 2026 10:00:00 +0000\r\n"
    ).encode() + extra


# -- strategies ---------------------------------------------------------------------------------

# Every kind of character a header may carry: control characters, CR/LF, NUL, non-ASCII.
HEADER_TEXT = st.text(
    alphabet=st.one_of(st.sampled_from("\r\n\x00\t =?\"'<>@,;:\\"), st.characters(codec="utf-8")),
    max_size=120,
)
ENCODED_WORDS = st.builds(
    lambda charset, kind, payload: f"=?{charset}?{kind}?{payload}?=",
    st.sampled_from(["utf-8", "x-unknown", "utf-7", "utf-16", "idna", "iso-2022-jp", ""]),
    st.sampled_from(["B", "Q", "X", "b", "q"]),
    st.text(alphabet="=+/ABCDEFabcdef0123456789?_\x00\xff", max_size=40),
)
HUGE_LINE = st.integers(min_value=1000, max_value=20_000).map(lambda n: "x" * n)
HEADER_VALUE = st.one_of(HEADER_TEXT, ENCODED_WORDS, HUGE_LINE)
HEADER_NAMES = st.sampled_from(
    ["Subject", "From", "Cc", "Message-ID", "Content-Type", "Content-Transfer-Encoding",
     "References", "Return-Path", "Auto-Submitted", "Precedence", "Date", "X-Whatever"]
)  # fmt: skip

CHARSETS = st.sampled_from(
    ["utf-8", "iso-8859-1", "utf-7", "utf-16", "utf-32", "idna", "base64", "x-unknown", "", "ascii"]
)
ENCODINGS = st.sampled_from(["7bit", "8bit", "quoted-printable", "base64", "x-uuencode", "bogus"])
TEXTS = st.one_of(
    st.binary(max_size=400),
    st.text(max_size=400).map(lambda t: t.encode("utf-8", "surrogatepass")),
    # Valid base64 of arbitrary bytes, and base64 with junk in it.
    st.binary(max_size=300).map(base64.b64encode),
    st.text(alphabet="ABCDabcd0123+/=!*\r\n", max_size=200).map(str.encode),
    # Quoted-printable escapes, good and bad.
    st.text(alphabet="=3DFFA0\r\n abc", max_size=200).map(str.encode),
    # Person-like text with a quote, a signature and an over-long paragraph.
    st.sampled_from(
        [
            b"Thanks!\r\n\r\nOn Tue, Dec 1, 2026 at 9:00 AM Bob wrote:\r\n> old\r\n",
            b"Hi\r\n-- \r\nAlice",
            b"\x00\x00Hello\x00",
            b"y" * 6000,
            b"\r\n\r\n   \r\n",
        ]
    ),
)


@st.composite
def leaves(draw) -> bytes:
    maintype, subtype = draw(
        st.sampled_from(
            [("text", "plain"), ("text", "html"), ("application", "octet-stream"),
             ("image", "png"), ("text", "x-unknown"), ("message", "rfc822")]
        )
    )  # fmt: skip
    params = f'; charset="{draw(CHARSETS)}"'
    if draw(st.booleans()):
        params += draw(st.sampled_from(["; format=flowed", "; format=flowed; delsp=yes"]))
    head = f"Content-Type: {maintype}/{subtype}{params}\r\n"
    head += f"Content-Transfer-Encoding: {draw(ENCODINGS)}\r\n"
    if draw(st.booleans()):
        disposition = draw(st.sampled_from(["attachment", "inline", "bogus"]))
        head += f'Content-Disposition: {disposition}; filename="{draw(HEADER_TEXT)}"\r\n'
    return head.encode("utf-8", "surrogatepass") + b"\r\n" + draw(TEXTS)


def multipart(children: st.SearchStrategy[bytes]) -> st.SearchStrategy[bytes]:
    @st.composite
    def build(draw) -> bytes:
        boundary = draw(st.sampled_from(["b1", "=_x", "", "b1"]))
        subtype = draw(st.sampled_from(["mixed", "alternative", "related", "report"]))
        parts = draw(st.lists(children, max_size=4))
        body = b"".join(f"--{boundary}\r\n".encode() + part + b"\r\n" for part in parts)
        if draw(st.booleans()):
            body += f"--{boundary}--\r\n".encode()  # otherwise left unterminated
        head = f'Content-Type: multipart/{subtype}; boundary="{boundary}"\r\n\r\n'
        return head.encode() + draw(st.binary(max_size=40)) + b"\r\n" + body

    return build()


MIME_TREES = st.recursive(leaves(), multipart, max_leaves=8)


# -- properties ----------------------------------------------------------------------------------


def test_an_arbitrary_body_after_valid_headers_is_kept_and_never_a_crash(address):
    @EXAMPLES
    @given(body=st.binary(max_size=3000))
    def check(body):
        check_receive(headers(to=address) + b"\r\n" + body, envelope=address)

    check()
    assert_counters_exact()


def test_arbitrary_bytes_to_a_reply_address_are_kept_and_never_a_crash(address):
    @EXAMPLES
    @given(raw=st.binary(max_size=3000))
    def check(raw):
        check_receive(raw, envelope=address)

    check()


def test_hostile_header_values_are_kept_and_never_a_crash(address):
    @EXAMPLES
    @given(
        extra=st.lists(st.tuples(HEADER_NAMES, HEADER_VALUE), max_size=5),
        body=st.text(max_size=300),
    )
    def check(extra, body):
        added = "".join(f"{name}: {value}\r\n" for name, value in extra)
        raw = (
            headers(to=address, extra=added.encode("utf-8", "surrogatepass"))
            + b"\r\n"
            + body.encode("utf-8", "surrogatepass")
        )
        check_receive(raw, envelope=address)

    check()
    assert_counters_exact()


def test_hostile_mime_structures_are_kept_and_never_a_crash(address):
    @EXAMPLES
    @given(tree=MIME_TREES)
    def check(tree):
        check_receive(headers(to=address, extra=b"MIME-Version: 1.0\r\n") + tree, envelope=address)

    check()
    assert_counters_exact()


def test_a_plain_reply_still_gets_through_the_same_checks(address):
    """The properties above are not met by refusing everything: a proper reply posts."""
    raw = headers(to=address) + b"\r\nYes please, ship it.\r\n"

    outcome = inbound.receive(raw, envelope_recipient=address)

    assert outcome.status == InboundMail.Status.POSTED
    assert Message.objects.latest("pk").body == "Yes please, ship it."


def test_a_reply_in_utf_7_with_half_a_character_is_kept_for_staff_not_posted(address):
    """UTF-7 can spell an unpaired surrogate, which no database can store as text."""
    raw = headers(
        to=address, extra=b'MIME-Version: 1.0\r\nContent-Type: text/plain; charset="utf-7"\r\n'
    )
    messages = Message.objects.count()

    outcome = inbound.receive(raw + b"\r\nHello +2AA- there\r\n", envelope_recipient=address)

    assert (outcome.status, outcome.exit_code) == ("unrouted", inbound.EX_OK)
    assert outcome.reason.startswith("refused: This text contains characters that cannot")
    assert "Hello +2AA- there" in outcome.inbound.raw
    assert Message.objects.count() == messages


def test_a_nul_in_an_automatic_reply_header_is_kept_not_retried_forever(address):
    """It was a database error on PostgreSQL (the reason quotes the header), which the pipe
    turns into "try again later" for a mail that could never be stored."""
    raw = headers(to=address, extra=b"Auto-Submitted: auto-\x00replied\r\n") + b"\r\nAway"

    outcome = inbound.receive(raw, envelope_recipient=address)

    assert outcome.status == "ignored" and outcome.exit_code == inbound.EX_OK
    assert InboundMail.objects.get().reason == "Auto-Submitted: auto-replied"


# -- the pieces on their own ---------------------------------------------------------------------

MAIL_TEXT = st.lists(
    st.one_of(
        st.text(max_size=80),
        st.sampled_from(
            [
                "> quoted",
                ">",
                "-- ",
                "--",
                "Sent from my iPhone",
                "On Mon, 1 Dec 2026 Bob wrote:",
                "Am 01.12.2026 um 10:00 schrieb Bob:",
                "_" * 40,
                "-----Original Message-----",
                "From: Bob",
                "Von: Bob",
                "On " + "x" * 500 + ":",
                "\x00",
                "\r",
                "\u2028",
                "\ufeff",
            ]
        ),
    ),
    max_size=30,
).map("\n".join)


@EXAMPLES
@given(MAIL_TEXT)
def test_the_reply_stripper_never_raises_and_returns_clean_text(text):
    result = strip_quoted(text)

    assert result == result.strip()
    assert "\x00" not in result and "\r" not in result


@EXAMPLES
@given(MIME_TREES)
def test_the_reply_text_of_any_mime_structure_is_clean_text(tree):
    message = email.message_from_bytes(b"MIME-Version: 1.0\r\n" + tree, policy=email.policy.default)

    result = reply_text(message)

    assert isinstance(result, str) and result == result.strip()
    assert "\x00" not in result


# -- size limits on the two ways in -------------------------------------------------------------


def test_the_pipe_command_bounces_a_mail_over_the_size_limit(address, settings, monkeypatch):
    settings.ORDER_MESSAGES_INBOUND_MAX_BYTES = 10_000
    raw = headers(to=address) + b"\r\n" + b"Long line. " * 2000
    monkeypatch.setattr("sys.stdin", type("Stdin", (), {"buffer": io.BytesIO(raw)})())
    err = io.StringIO()

    with pytest.raises(SystemExit) as exit:
        call_command("receive_email", stdout=io.StringIO(), stderr=err)

    assert exit.value.code == inbound.EX_DATAERR
    assert "too large" in err.getvalue()
    kept = InboundMail.objects.get()
    assert (kept.status, kept.reason) == ("unrouted", "too large")
    assert len(kept.raw) <= 4096
    assert not Message.objects.filter(body__startswith="Long line.").exists()
