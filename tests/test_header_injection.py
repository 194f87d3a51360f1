"""No header injection (SPEC 9, bad input). Hostile people's names, vendor names, order
numbers and addresses (CR/LF, "\\r\\nBcc: …", NUL, unicode line separators, RFC 2047
encoded words, long unicode) reach no e-mail header except as the text they are, and each
e-mail reaches exactly its intended recipient: in Django's outbox and on the wire of a real
SMTP server. HTTP answers built from what a visitor sends (redirects, downloads, error
pages) carry no injected header and redirect nowhere else."""

from __future__ import annotations

from email import message_from_bytes, policy
from email.utils import getaddresses
from urllib.parse import quote, unquote, urlsplit

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.utils import timezone

from demo.store.models import Order, OrderItem, Product, Vendor
from order_messages.models import Conversation, Message, Notification
from order_messages.notifications.email import NotificationEmail, render
from order_messages.notifications.worker import Report
from tests.conftest import deliver_notifications

EVIL = "evil@attacker.example"
INJECTIONS = {
    "crlf": "\r\nBcc: evil@attacker.example",
    "lf": "\nBcc: evil@attacker.example",
    "cr": "\rBcc: evil@attacker.example",
    "blank line": "\r\n\r\n<h1>Injected body</h1>",
    # "\r\nBcc: evil@attacker.example" as an encoded word, which mail clients decode.
    "encoded word": "=?utf-8?b?DQpCY2M6IGV2aWxAYXR0YWNrZXIuZXhhbXBsZQ==?=",
    "unicode line breaks": "\u2028\u2029\x85\x0bBcc: evil@attacker.example",
    "bidi override": "\u202eBcc: evil@attacker.example\u202c",
    "long unicode": "Ω€😀" * 40 + "\r\nBcc: evil@attacker.example",
}
# Each header an e-mail of the app may carry, once.
HEADERS = {
    "Content-Type",
    "Content-Transfer-Encoding",
    "MIME-Version",
    "Subject",
    "From",
    "To",
    "Reply-To",
    "Date",
    "Message-ID",
    "In-Reply-To",
    "References",
    "Auto-Submitted",
    "X-Auto-Response-Suppress",
    "List-Unsubscribe",
    "List-Unsubscribe-Post",
}
STORE_INBOX = "orders@marketplace.example"
SUBJECT_ENDS = {
    "message": "new message",
    "dispute_opened": "dispute opened",
    "dispute_closed": "dispute closed",
}


@pytest.fixture(autouse=True)
def unlimited(settings):
    settings.ORDER_MESSAGES_POST_RATE_LIMIT = None


def check_headers(raw: bytes, *, recipient: str):
    """The e-mail as sent: only the app's headers, each once, each one line; To is the
    recipient alone; the subject is one line of printable text."""
    assert b"\x00" not in raw.split(b"\r\n\r\n")[0].split(b"\n\n")[0]
    message = message_from_bytes(raw, policy=policy.default)
    names = list(message.keys())
    assert len(names) == len(set(names)), names
    assert set(names) <= HEADERS, set(names) - HEADERS
    assert getaddresses(message.get_all("To")) == [("", recipient)]
    assert EVIL not in str(message.get_all("Reply-To"))
    subject = str(message["Subject"]).strip()  # folding may start it on the next line
    assert subject.isprintable(), repr(subject)
    assert subject.startswith("Order #") or "unread message" in subject, subject
    return message


def hostile_order(*, demo, injection: str, number: str, guest_email: str | None = None):
    """An order split between a vendor and Bob's Bikes, where the vendor's name, its staff
    member's name, the customer's name and the order number carry ``injection``."""
    vendor = Vendor.objects.create(slug=f"hostile-{number[:3]}", name=f"Hostile{injection}")
    mallory = get_user_model().objects.create(
        username=f"mallory-{number[:3]}",
        first_name=f"Mallory{injection}"[:150],
        email=f"mallory-{number[:3]}@hostile.example",
    )
    vendor.staff.add(mallory)
    alice = demo["alice"]
    if guest_email is None:
        alice.first_name = f"Alice{injection}"[:150]
        alice.save()
    order = Order.objects.create(
        number=f"{number}{injection}".replace("/", "")[:32],  # "/" ends a URL's number
        customer=None if guest_email else alice,
        email=guest_email or alice.email,
        name=f"Alice{injection}"[:200],
        placed_at=timezone.now(),
    )
    for seller in (vendor, Vendor.objects.get(slug="bobs-bikes")):
        product = Product.objects.filter(vendor=seller).first() or Product.objects.create(
            name=f"Thing{injection}"[:200], price=1, vendor=seller
        )
        OrderItem.objects.create(
            order=order, product=product, vendor=seller, name=product.name, price=1
        )
    demo[mallory.username] = mallory
    return order, vendor, mallory


def write_and_deliver(*, order, vendor, mallory, post, dispute) -> Report:
    """The customer writes, the vendor's staff member answers, the customer opens a
    dispute, each delivered before the next is read: e-mails to the vendor, the customer,
    the store's staff and its inbox."""
    total = Report()
    for step in (
        lambda: post("alice", order.number, vendor.slug, "Where is my order?"),
        lambda: post(mallory.username, order.number, vendor.slug, "On its way."),
        lambda: dispute.open("alice", order.number, vendor.slug, "It never came."),
    ):
        step()
        report = deliver_notifications()
        for name in ("sent", "skipped", "retrying", "failed"):
            setattr(total, name, getattr(total, name) + getattr(report, name))
    return total


# -- hostile names and order numbers --------------------------------------------------------


@pytest.mark.parametrize("injection", INJECTIONS.values(), ids=INJECTIONS.keys())
def test_hostile_names_reach_no_header_of_an_e_mail_in_the_outbox(
    injection, demo, post, dispute, mailoutbox
):
    order, vendor, mallory = hostile_order(demo=demo, injection=injection, number="7701")

    report = write_and_deliver(
        order=order, vendor=vendor, mallory=mallory, post=post, dispute=dispute
    )

    assert report.failed == 0 and report.sent >= 4, report
    sent_to = {row.email for row in Notification.objects.filter(status=Notification.Status.SENT)}
    assert {mallory.email, "alice@customers.example", STORE_INBOX} <= sent_to
    assert [email.to for email in mailoutbox] == [
        [address] for address in [e.to[0] for e in mailoutbox]
    ]
    assert {email.to[0] for email in mailoutbox} == sent_to
    for email in mailoutbox:
        assert email.cc == [] and email.bcc == []
        check_headers(email.message().as_bytes(), recipient=email.to[0])


@pytest.mark.parametrize("injection", INJECTIONS.values(), ids=INJECTIONS.keys())
def test_hostile_names_reach_no_header_on_the_wire(injection, demo, post, dispute, smtp):
    order, vendor, mallory = hostile_order(demo=demo, injection=injection, number="7702")

    report = write_and_deliver(
        order=order, vendor=vendor, mallory=mallory, post=post, dispute=dispute
    )

    assert report.failed == 0 and report.retrying == 0, report
    assert len(smtp.received) == report.sent
    sent_to = {row.email for row in Notification.objects.filter(status=Notification.Status.SENT)}
    for envelope in smtp.received:
        (recipient,) = envelope.rcpt_tos  # exactly one recipient per e-mail
        assert recipient in sent_to
        message = check_headers(envelope.content, recipient=recipient)
        if "=?" in injection:
            # The encoded word is the order number's text, not a way to write headers.
            assert "=?utf-8?b?DQpCY2M6" in str(message["Subject"])
    assert {envelope.rcpt_tos[0] for envelope in smtp.received} == sent_to
    assert EVIL not in str([envelope.rcpt_tos for envelope in smtp.received])


@pytest.mark.parametrize(
    "number",
    [
        "77\x00Bcc: evil@attacker.example",
        "77\r\nBcc: evil@attacker.example",
        "77\x85\u2028Bcc: evil@attacker.example",
        "77=?utf-8?q?=0D=0ABcc=3A_evil=40attacker.example?=",
        "\u202e77 Bcc: evil@attacker.example",
        "7" * 200 + "Ω" * 200,
        "7" * 100 + "=?utf-8?q?=0D=0ABcc=3A_evil=40attacker.example?= " + "7" * 100,
    ],
    ids=[
        "nul",
        "crlf",
        "unicode line breaks",
        "encoded word",
        "bidi override",
        "long unicode",
        "long encoded word",
    ],
)
@pytest.mark.parametrize("template", SUBJECT_ENDS.keys())
def test_a_subject_is_one_line_of_the_text_it_says(number, template):
    """Whatever the store's order numbers hold (a NUL cannot even be stored in PostgreSQL,
    so this renders without the database): one line, read back as written, but control
    and format characters shown as spaces."""
    conversation = Conversation(order_number=number, vendor_key="x", vendor_name="X")
    subject, _text, _html = render(
        template, {"conversation": conversation, "messages": [], "event": Message(body="b")}
    )
    email = NotificationEmail(subject=subject, body="b", to=["alice@customers.example"])
    raw = email.message().as_bytes()

    message = check_headers(raw, recipient="alice@customers.example")
    written = f"Order #{number}: {SUBJECT_ENDS[template]}"
    shown = " ".join("".join(ch if ch.isprintable() else " " for ch in written).split())
    assert str(message["Subject"]).strip() == shown


# -- hostile addresses ------------------------------------------------------------------------

HOSTILE_ADDRESSES = {
    "crlf": "gina@guests.example\r\nBcc: evil@attacker.example",
    "lf": "gina@guests.example\nevil@attacker.example",
    "comma": "gina@guests.example, evil@attacker.example",
    "semicolon": "gina@guests.example;evil@attacker.example",
    "angle": "gina@guests.example>evil@attacker.example",
    "display name": "Gina <gina@guests.example>, evil@attacker.example",
}


@pytest.mark.parametrize("address", HOSTILE_ADDRESSES.values(), ids=HOSTILE_ADDRESSES.keys())
@pytest.mark.parametrize("transport", ["outbox", "smtp"])
def test_an_address_with_a_second_one_in_it_gets_nothing_and_fails_visibly(
    address, transport, demo, post, mailoutbox, smtp_server, settings
):
    """A guest's address as the store holds it: the e-mail to it fails for good (the
    dashboard shows failed e-mails), nothing reaches the second address, and everyone
    else's e-mail goes."""
    if transport == "smtp":
        smtp_server.start()
        smtp_server.reset()
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST, settings.EMAIL_PORT = smtp_server.host, smtp_server.port
    order = Order.objects.create(
        number="7703", customer=None, email=address, name="Gina", placed_at=timezone.now()
    )
    helmet = Product.objects.get(name="Bike helmet Aero")
    OrderItem.objects.create(
        order=order, product=helmet, vendor=helmet.vendor, name="Helmet", price=1
    )
    post("bob", "7703", "bobs-bikes", "Your helmet ships today.")
    post("alice", "1002", "bobs-bikes", "And my lights?")

    report = deliver_notifications()

    row = Notification.objects.get(conversation__order_number="7703")
    assert row.status == Notification.Status.FAILED and row.last_error, row.last_error
    assert (
        Notification.objects.get(conversation__order_number="1002").status
        == Notification.Status.SENT
    )
    assert report.failed == 1
    if transport == "smtp":
        recipients = [envelope.rcpt_tos for envelope in smtp_server.received]
    else:
        recipients = [email.to for email in mailoutbox]
    assert recipients == [["bob@bobs-bikes.example"]] or recipients == [("bob@bobs-bikes.example",)]


# -- HTTP answers -------------------------------------------------------------------------------

INJECTED = "X-Injected"


def check_response(response, *, redirect: bool | None = None):
    """No injected header, no line breaks in any header, no server error, and a redirect
    (if any) to this site."""
    assert response.status_code < 500, response.status_code
    for name, value in response.headers.items():
        assert not set("\r\n\x00") & set(name + value), (name, value)
    assert INJECTED not in response.headers
    assert "injected" not in {cookie.lower() for cookie in response.cookies}
    if redirect is not None:
        assert (300 <= response.status_code < 400) == redirect, response.status_code
    if "Location" in response.headers:
        location = urlsplit(response.headers["Location"])
        assert location.netloc in ("", "testserver"), response.headers["Location"]
        assert not any(ch.isspace() for ch in response.headers["Location"])
    return response


CRLF_PARAM = quote("\r\nX-Injected: 1\r\nSet-Cookie: injected=1")


@pytest.mark.parametrize(
    "path",
    [
        f"/messages/orders/1001/bobs-bikes/?from={CRLF_PARAM}",
        f"/messages/orders/1001/{CRLF_PARAM}/",
        f"/messages/orders/{CRLF_PARAM}/",
        f"/messages/guest/{CRLF_PARAM}/",
        f"/messages/unsubscribe/{CRLF_PARAM}/",
        f"/messages/?q={CRLF_PARAM}&after={CRLF_PARAM}",
        f"/accounts/login/?next={CRLF_PARAM}",
        f"/orders/{CRLF_PARAM}/",
        f"/api/v1/orders/{CRLF_PARAM}/conversations",
    ],
)
@pytest.mark.parametrize("who", [None, "alice", "bob"])
def test_a_hostile_url_gets_a_clean_answer(path, who, client_for):
    client = Client() if who is None else client_for(who)
    check_response(client.get(path))


@pytest.mark.parametrize(
    "next_url",
    [
        "/\r\nX-Injected: 1",
        "/messages/%0d%0aX-Injected:%201",
        "https://evil.example/",
        "//evil.example/",
        "/\\evil.example/",
        "javascript:alert(1)",
        " https://evil.example/",
    ],
)
def test_a_hostile_next_leads_back_to_this_site(next_url, demo):
    login = Client().post(
        "/accounts/login/", {"username": "alice", "password": "demo", "next": next_url}
    )
    check_response(login, redirect=True)
    language = Client().post("/i18n/setlang/", {"language": "de", "next": next_url})
    check_response(language, redirect=True)
    anonymous = Client().get(f"/messages/orders/1001/bobs-bikes/?x={quote(next_url)}")
    check_response(anonymous, redirect=True)


def test_a_hostile_search_is_carried_through_the_redirect_encoded(client_for):
    search = "\r\nX-Injected: 1\r\nLocation: https://evil.example/"
    response = check_response(
        client_for("bob").post("/messages/mark/", {"q": search, "all": "read"}), redirect=True
    )
    assert urlsplit(response.headers["Location"]).path == "/messages/"
    assert quote("\r\n") in response.headers["Location"] or "%0D%0A" in response.headers["Location"]


def test_an_order_number_with_a_line_break_redirects_encoded(demo, client_for):
    number = "7704\r\nX-Injected: 1"
    order = Order.objects.create(
        number=number,
        customer=demo["alice"],
        email="alice@customers.example",
        name="Alice",
        placed_at=timezone.now(),
    )
    helmet = Product.objects.get(name="Bike helmet Aero")
    OrderItem.objects.create(
        order=order, product=helmet, vendor=helmet.vendor, name="Helmet", price=1
    )
    alice = client_for("alice")

    response = check_response(alice.get(f"/messages/orders/{quote(number)}/"), redirect=True)
    assert unquote(response.headers["Location"]) == f"/messages/orders/{number}/bobs-bikes/"
    page = check_response(alice.get(response.headers["Location"]))
    assert page.status_code == 200
    posted = check_response(
        alice.post(response.headers["Location"], {"body": "Hello"}), redirect=True
    )
    assert unquote(posted.headers["Location"]).startswith(
        f"/messages/orders/{number}/bobs-bikes/#m-"
    )


def test_hostile_request_headers_get_a_clean_answer(demo, client_for):
    from order_messages.actions import create_token

    _row, token = create_token(user=demo["alice"], name="phone")
    api = Client(
        headers={
            "Authorization": f"Bearer {token}",
            "Accept-Language": "de\r\nX-Injected: 1",
        }
    )
    path = "/api/v1/orders/1002/conversations/bobs-bikes/messages"
    check_response(
        api.post(
            path,
            {"body": "Hi"},
            content_type="application/json",
            headers={"Idempotency-Key": "k\r\nX-Injected: 1"},
        )
    )
    check_response(api.get(path))
    check_response(client_for("alice").get("/messages/", headers={"Accept-Language": "\r\n"}))


def test_the_mailbox_download_names_its_file_itself(demo, settings, post, client_for):
    from demo.mailbox.models import DemoEmail

    settings.EMAIL_BACKEND = "demo.mailbox.mail.MailboxBackend"
    post("alice", "1002", "bobs-bikes", "Hello\r\nContent-Disposition: inline")
    deliver_notifications()
    email = DemoEmail.objects.latest("pk")
    response = check_response(Client().get(f"/demo/mailbox/{email.pk}.eml"))
    assert response.headers["Content-Disposition"] == (
        f'attachment; filename="demo-email-{email.pk}.eml"'
    )
