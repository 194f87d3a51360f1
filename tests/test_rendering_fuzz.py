"""Message text is plain text wherever it is shown (C6): for any text, the thread page and
both parts of the e-mail show exactly that text. The body adds no markup of its own but
links (to http, https and mailto only) and line breaks."""

from __future__ import annotations

import re
from collections import Counter
from email import message_from_bytes, policy
from html.parser import HTMLParser

import pytest
from django.template.loader import render_to_string
from django.test import RequestFactory
from django.utils import timezone
from django.utils.text import normalize_newlines
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from order_messages.models import Message
from tests.conftest import deliver_notifications, fuzz_examples

# Pieces that make urlize, the escaper and linebreaksbr work: tags, entities, quotes,
# URL-like words with every kind of scheme, trailing punctuation, line endings.
PIECES = [
    "<",
    ">",
    "&",
    '"',
    "'",
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    '"><svg onload=alert(1)>',
    "&lt;b&gt;",
    "&amp;",
    "&#x27;",
    "&",
    "http://example.com",
    "https://example.com/a?b=1&c=<2>",
    "www.example.com",
    "example.org/path",
    "javascript:alert(1)",
    "JAVASCRIPT:alert(1)//example.com",
    "data:text/html,<script>alert(1)</script>",
    "vbscript:msgbox(1)",
    "mailto:x@example.com",
    "x@example.com",
    '"x"@example.com',
    "ftp://example.com",
    "http://",
    "(http://example.com/)",
    "http://example.com/).",
    "<http://example.com>",
    "[http://example.com]",
    "http://example.com/'onmouseover='alert(1)",
    "http://exa mple.com",
    "\n",
    "\r\n",
    "\r",
    "\t",
    " ",
    "\u2028",
    "\u202e",
    "\u200b",
    "\ufeff",
    "{{ x }}",
    "{% debug %}",
]
# Any character a person can type or paste, control characters included; no unpaired
# surrogates (they cannot reach a str from UTF-8) and no NUL (refused on posting).
CHARACTERS = st.characters(exclude_categories=("Cs",), exclude_characters="\x00")
BODIES = st.lists(
    st.one_of(st.sampled_from(PIECES), st.text(CHARACTERS, max_size=12)), max_size=12
).map("".join)
ALLOWED_SCHEMES = ("http://", "https://", "mailto:")


class Markup(HTMLParser):
    """The tags of a piece of HTML, the hrefs of its links and its text as a browser
    shows it (character references decoded, <br> as a line break)."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tags: Counter[str] = Counter()
        self.attributes: list[tuple[str, str]] = []
        self.hrefs: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags[tag] += 1
        self.attributes += [(tag, name) for name, _value in attrs]
        if tag == "a":
            self.hrefs.append(dict(attrs).get("href") or "")
        if tag == "br":
            self.text.append("\n")

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)

    def handle_data(self, data):
        self.text.append(data)


def read(html: str) -> Markup:
    markup = Markup()
    markup.feed(html)
    markup.close()
    return markup


def as_shown(body: str) -> str:
    """The text a page shows for a body: line endings as line breaks."""
    return normalize_newlines(body)


def check_markup_of(body: str, html: str, *, baseline: str) -> Markup:
    """``html`` shows ``body`` where ``baseline`` shows a plain word: the body added no
    markup but links to allowed schemes and line breaks, and its text is all there."""
    markup, plain = read(html), read(baseline)
    added = markup.tags - plain.tags
    assert set(added) <= {"a", "br"}, added
    assert plain.tags - markup.tags == Counter()
    assert added["br"] == as_shown(body).count("\n")
    assert {name for tag, name in markup.attributes if tag == "a"} <= {"href", "rel"} | {
        name for tag, name in plain.attributes if tag == "a"
    }
    links = [href for href in markup.hrefs if href not in plain.hrefs]
    assert all(href.startswith(ALLOWED_SCHEMES) for href in links), links
    assert as_shown(body) in "".join(markup.text)
    return markup


# -- the thread -------------------------------------------------------------------------------


def render_message(body: str, kind: str = Message.Kind.MESSAGE) -> str:
    message = Message(
        seq=7,
        kind=kind,
        author_name="Alice Archer",
        author_role="customer",
        body=body,
        created_at=timezone.now(),
    )
    request = RequestFactory().get("/")
    request.user = None
    return render_to_string(
        "order_messages/partials/message.html", {"message": message, "request": request}
    )


# Django 5.2's urlize shows this as "(http://example.com/)", without the period.
BRACKETED = "(see http://example.com/)."


@given(
    body=BODIES | st.text(CHARACTERS | st.just("\x00")),
    kind=st.sampled_from([Message.Kind.MESSAGE, Message.Kind.DISPUTE_OPENED]),
)
@example(body=BRACKETED, kind=Message.Kind.MESSAGE)
@example(body="[x] http://example.com/]!\nwww.example.com/(a)).", kind=Message.Kind.DISPUTE_OPENED)
@settings(max_examples=fuzz_examples(400), deadline=None, database=None)
def test_a_message_shows_its_text_and_no_markup_of_its_own(body, kind):
    check_markup_of(body, render_message(body, kind), baseline=render_message("word", kind))


@pytest.fixture
def unlimited(settings):
    # Hypothesis posts many messages and disputes in a second; the limits are another test's
    # subject.
    settings.ORDER_MESSAGES_POST_RATE_LIMIT = None
    settings.ORDER_MESSAGES_DISPUTE_RATE_LIMIT = None


def message_html(page: str, seq: int) -> str:
    """The <li> of message ``seq`` on a thread page."""
    match = re.search(rf'<li class="om-msg[^"]*" id="m-{seq}">.*?</li>', page, re.S)
    assert match, f"message {seq} is not on the page"
    return match.group(0)


@given(body=BODIES)
@settings(
    max_examples=fuzz_examples(60),
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_a_posted_message_shows_as_its_text_on_the_thread_page(
    body, demo, post, client_for, unlimited
):
    from order_messages.errors import OrderMessagesError

    try:
        message = post("alice", "1002", "bobs-bikes", body)
    except OrderMessagesError:  # empty once trimmed: refused with a clear error, as tested
        assert not body.strip()
        return
    page = client_for("bob").get(f"/messages/orders/1002/bobs-bikes/?from={message.seq}")
    assert page.status_code == 200
    html = message_html(page.content.decode(), message.seq)
    baseline = message_html(page.content.decode(), 1)  # the seed's plain first message
    check_markup_of(message.body, html, baseline=baseline)


# -- the e-mail --------------------------------------------------------------------------------

DAVE = "dave@daves-outdoor.example"


def email_to_dave(mailoutbox):
    deliver_notifications()
    (email,) = [m for m in mailoutbox if m.to == [DAVE]]
    (html, mimetype), *_ = email.alternatives
    assert mimetype == "text/html"
    return email, html


@pytest.fixture
def plain_email(demo, post, mailoutbox, unlimited):
    """The HTML part of an e-mail about a one-word message (once for all examples)."""
    post("alice", "1003", "daves-outdoor", "word")
    _email, html = email_to_dave(mailoutbox)
    return html


@given(body=BODIES)
@example(body=BRACKETED)
@settings(
    max_examples=fuzz_examples(40),
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_a_message_e_mail_carries_the_text_in_both_parts(body, post, mailoutbox, plain_email):
    from order_messages.errors import OrderMessagesError

    mailoutbox.clear()
    try:
        message = post("alice", "1003", "daves-outdoor", body)
    except OrderMessagesError:
        assert not body.strip()
        return
    email, html = email_to_dave(mailoutbox)
    assert message.body in email.body
    check_markup_of(message.body, html, baseline=plain_email)
    # The whole e-mail serializes for the wire, and both parts come back as they were.
    parsed = message_from_bytes(email.message().as_bytes(), policy=policy.default)
    assert normalize_newlines(message.body) in normalize_newlines(
        parsed.get_body(("plain",)).get_content()
    )
    assert parsed.get_body(("html",)).get_content().strip() == html.strip()


@pytest.fixture
def plain_dispute_email(demo, dispute, mailoutbox, unlimited):
    """The HTML part of the e-mail to Dave about a dispute opened for "word"."""
    dispute.open("alice", "1003", "daves-outdoor", "word")
    _email, html = email_to_dave(mailoutbox)
    dispute.close("alice", "1003", "daves-outdoor")
    deliver_notifications()  # the closing's e-mails, so they are not the next test's
    return html


@given(reason=BODIES)
@settings(
    max_examples=fuzz_examples(25),
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_a_dispute_e_mail_carries_the_reason_in_both_parts(
    reason, dispute, mailoutbox, plain_dispute_email
):
    from order_messages.errors import OrderMessagesError

    mailoutbox.clear()
    try:
        opened = dispute.open("alice", "1003", "daves-outdoor", reason)
    except OrderMessagesError:
        assert not reason.strip()
        return
    try:
        email, html = email_to_dave(mailoutbox)
    finally:
        dispute.close("alice", "1003", "daves-outdoor")
        deliver_notifications()
    assert opened.reason in email.body
    check_markup_of(opened.reason, html, baseline=plain_dispute_email)
    email.message().as_bytes()


def test_a_link_before_a_bracket_and_a_period_keeps_every_character():
    html = render_message("Tracking (see http://example.com/). Thanks!\nwww.example.com works")

    assert "(see http://example.com/). Thanks!\nwww.example.com works" in "".join(read(html).text)
    assert '<a href="http://www.example.com" rel="nofollow">www.example.com</a>' in html
