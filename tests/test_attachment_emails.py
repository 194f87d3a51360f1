"""Files in e-mails: listed as links made for each recipient, never attached; the links
open the file for that person only while they may read the conversation, and expire."""

import re
import time
from unittest import mock

import pytest
from django.db import connection
from django.template.defaultfilters import filesizeformat
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import translation

from order_messages import actions
from order_messages.attachments.links import read_file_token
from order_messages.attachments.storage import attachment_storage
from order_messages.models import Attachment, Notification, NotificationSettings
from tests.conftest import deliver_notifications

from . import files

pytestmark = pytest.mark.usefixtures("no_conversations")

SITE = "https://shop.example"
ALICE, BOB, GINA = "alice@customers.example", "bob@bobs-bikes.example", "gina@guests.example"
STORE_INBOX = "orders@marketplace.example"
MAILED_LINK = re.compile(rf"{re.escape(SITE)}(/messages/files/mail/[^/\s\"]+/)")


@pytest.fixture(autouse=True)
def site_url(settings):
    settings.ORDER_MESSAGES_SITE_URL = SITE


@pytest.fixture
def post_files(access_as):
    """``post_files("alice", "1002", "bobs-bikes", "Look", [("a.jpg", bytes)])``: upload
    the files as the composer does, then post them with the message."""

    def make(username, number, vendor_key, body, attached, *, dispute=False):
        access = access_as(username, number)
        sub_order = access.sub_order(vendor_key)
        actor = access.actor_in(sub_order)
        ids = [
            actions.upload_attachment(
                order_number=number, vendor_key=vendor_key, actor=actor, name=name, content=data
            ).pk
            for name, data in attached
        ]
        if dispute:
            return actions.open_dispute(
                order=access.order, sub_order=sub_order, actor=actor, reason=body, attachments=ids
            )
        return actions.post_message(
            order=access.order, sub_order=sub_order, actor=actor, body=body, attachments=ids
        )

    return make


@pytest.fixture
def sent(django_capture_on_commit_callbacks, mailoutbox):
    """``sent(action, *args)``: run an action, commit, deliver; the e-mails by address."""

    def run(action, *args, **kwargs):
        mailoutbox.clear()
        Notification.objects.all().delete()
        with django_capture_on_commit_callbacks(execute=True):
            action(*args, **kwargs)
        deliver_notifications()
        return {email.to[0]: email for email in mailoutbox}

    return run


def html_of(email):
    (content, mimetype), *_ = email.alternatives
    assert mimetype == "text/html"
    return content


def stored_bytes(attachment):
    with attachment_storage().open(attachment.file, "rb") as stored:
        return stored.read()


def opened(response):
    return b"".join(response.streaming_content)


def assert_no_mime_attachment(email):
    """Text and HTML, and nothing else: files are links, never sent along."""
    assert email.attachments == []
    parts = [part.get_content_type() for part in email.message().walk()]
    assert parts == ["multipart/alternative", "text/plain", "text/html"]


def test_a_photo_is_a_link_in_the_email_that_opens_for_the_signed_in_recipient(
    post_files, sent, client_for
):
    emails = sent(
        post_files, "alice", "1002", "bobs-bikes", "The frame is scratched.",
        [("IMG_0001.JPG", files.phone_photo())],
    )  # fmt: skip

    photo = Attachment.objects.get()
    email = emails[BOB]
    assert_no_mime_attachment(email)
    link = MAILED_LINK.search(email.body)
    assert link, email.body
    with translation.override("en"):  # the language the e-mail is in
        size = filesizeformat(photo.size)
    assert f"📎 IMG_0001.JPG ({size}): {link[0]}" in email.body
    assert "The frame is scratched." in email.body
    assert f'<a href="{link[0]}"' in html_of(email) and "IMG_0001.JPG</a>" in html_of(email)
    assert MAILED_LINK.findall(html_of(email)) == [link[1]]

    response = client_for("bob").get(link[1])
    assert response.status_code == 200
    assert response["Content-Type"] == "image/jpeg"
    assert opened(response) == stored_bytes(photo)
    assert b"PhoneMaker" not in stored_bytes(photo)  # the clean copy, without its EXIF

    assert Client().get(link[1]).status_code == 302  # to the login page
    assert client_for("carol").get(link[1]).status_code == 404  # not hers to read


def test_each_recipient_gets_a_link_of_their_own(post_files, dispute, sent):
    dispute.open("alice", "1002", "bobs-bikes", "Bent wheel")  # the store's staff join

    emails = sent(post_files, "alice", "1002", "bobs-bikes", "Photo", [("wheel.png", files.png())])

    links = {address: MAILED_LINK.findall(email.body) for address, email in emails.items()}
    assert set(links) >= {BOB, "admin@marketplace.example"}
    people = [links[BOB], links["admin@marketplace.example"]]
    assert all(len(found) == 1 for found in people) and people[0] != people[1]


def test_a_message_with_files_only_says_it_sent_them(post_files, sent):
    emails = sent(
        post_files, "alice", "1002", "bobs-bikes", "",
        [("tent.jpg", files.phone_photo()), ("receipt.pdf", files.pdf())],
    )  # fmt: skip

    email = emails[BOB]
    assert "Alice Archer (Customer)," in email.body
    assert "Sent 2 files:" in email.body and "Sent 2 files:" in html_of(email)
    assert "📎 tent.jpg (" in email.body and "📎 receipt.pdf (" in email.body
    assert len(MAILED_LINK.findall(email.body)) == 2
    assert len(MAILED_LINK.findall(html_of(email))) == 2
    assert_no_mime_attachment(email)


def test_the_guests_link_works_while_the_order_names_their_address(post, post_files, sent):
    from demo.store.models import Order

    post(None, "1006", "daves-outdoor", "Is the stove in stock?")
    emails = sent(
        post_files, "dave", "1006", "daves-outdoor", "This one:", [("stove.png", files.png())]
    )

    link = MAILED_LINK.search(emails[GINA].body)
    assert link, emails[GINA].body
    stove = Attachment.objects.get()
    guest = Client()  # no account, never signed in
    response = guest.get(link[1])
    assert response.status_code == 200
    assert opened(response) == stored_bytes(stove)

    Order.objects.filter(number="1006").update(email="someone.else@guests.example")

    assert guest.get(link[1]).status_code == 404


def test_an_expired_link_is_gone(post_files, sent, client_for, settings):
    settings.ORDER_MESSAGES_ATTACHMENT_LINK_MAX_AGE = 60
    emails = sent(post_files, "alice", "1002", "bobs-bikes", "Photo", [("wheel.png", files.png())])
    link = MAILED_LINK.search(emails[BOB].body)[1]
    bob = client_for("bob")
    assert bob.get(link).status_code == 200

    later = time.time() + 61
    with mock.patch("django.core.signing.time.time", return_value=later):
        response = bob.get(link)

    assert response.status_code == 410


def test_a_dispute_email_lists_the_files_that_came_with_the_reason(post, post_files, sent):
    post("alice", "1002", "bobs-bikes", "The wheel is bent.")

    emails = sent(
        post_files, "alice", "1002", "bobs-bikes", "Bent, see the photo.",
        [("wheel.jpg", files.phone_photo())], dispute=True,
    )  # fmt: skip

    to_bob = emails[BOB]
    assert "Bent, see the photo." in to_bob.body
    assert "📎 wheel.jpg (" in to_bob.body and "wheel.jpg</a>" in html_of(to_bob)
    assert MAILED_LINK.search(to_bob.body)
    assert_no_mime_attachment(to_bob)


def test_the_stores_orders_address_gets_links_that_staff_open_signed_in(
    post_files, sent, client_for
):
    emails = sent(
        post_files, "alice", "1004", "store", "My gift card:", [("card.png", files.png())]
    )

    card = Attachment.objects.get()
    inbox = emails[STORE_INBOX]
    (link,) = MAILED_LINK.findall(inbox.body)
    path = link.removeprefix(SITE)
    assert read_file_token(path.split("/")[-2]).store
    signed_out = Client().get(path)
    assert signed_out.status_code == 302 and signed_out["Location"].startswith("/accounts/login/")
    assert client_for("admin").get(path).status_code == 200
    assert client_for("carol").get(path).status_code == 404
    assert read_file_token(path.split("/")[-2]).attachment_id == card.pk


def test_a_digest_lists_each_messages_files(demo, post_files, mailoutbox, client_for):
    NotificationSettings.objects.update_or_create(
        user=demo["bob"], defaults={"frequency": NotificationSettings.Frequency.DIGEST}
    )
    post_files("alice", "1002", "bobs-bikes", "Bike", [("bike.png", files.png())])
    post_files("alice", "1001", "bobs-bikes", "", [("helmet.pdf", files.pdf())])

    deliver_notifications()

    (email,) = mailoutbox
    assert email.to == [BOB]
    assert "📎 bike.png (" in email.body and "📎 helmet.pdf (" in email.body
    assert "Sent a file:" in email.body
    links = MAILED_LINK.findall(email.body)
    assert len(links) == 2
    assert [client_for("bob").get(link).status_code for link in links] == [200, 200]
    assert_no_mime_attachment(email)


def delivery_queries(action) -> int:
    Notification.objects.all().delete()
    action()
    with CaptureQueriesContext(connection) as captured:
        report = deliver_notifications()
    assert report.sent == 1
    return len(captured)


def test_the_worker_reads_the_files_of_a_batch_in_one_query(post_files, mailoutbox):
    def one():
        post_files("alice", "1002", "bobs-bikes", "One", [("a.png", files.png())])

    def four():
        for n in range(4):
            post_files(
                "alice", "1002", "bobs-bikes", f"Message {n}",
                [(f"b{n}.png", files.png()), (f"c{n}.pdf", files.pdf())],
            )  # fmt: skip

    assert delivery_queries(one) == delivery_queries(four)
    assert len(MAILED_LINK.findall(mailoutbox[-1].body)) == 8
