"""Files in replies by e-mail: posted with the text under the composer's rules, refused
ones named for staff without holding back the text, nothing left behind by a reply that
is not posted, and never a file's content in the database."""

import base64
import io
import os
from email.message import EmailMessage
from email.utils import make_msgid
from unittest import mock

import pytest
from django.conf import settings as django_settings
from django.db import DatabaseError
from django.utils import timezone
from PIL import Image

from order_messages.attachments.storage import attachment_storage
from order_messages.conf import app_settings
from order_messages.errors import ScanUnavailable
from order_messages.models import Attachment, Conversation, InboundMail, Message
from order_messages.notifications import inbound
from order_messages.notifications.inbound_files import kept_raw, refusal_note
from order_messages.notifications.tokens import make_reply_address
from tests.conftest import conversation_of

from . import files

pytestmark = pytest.mark.usefixtures("no_conversations")

ALICE, BOB, GINA = "alice@customers.example", "bob@bobs-bikes.example", "gina@guests.example"


@pytest.fixture(autouse=True)
def reply_domain(settings):
    settings.ORDER_MESSAGES_REPLY_DOMAIN = "reply.shop.example"
    settings.ORDER_MESSAGES_INBOUND_RATE_LIMIT = 100


@pytest.fixture
def helmet(post, demo):
    """Bob wrote to Alice about #1002: she is answering his e-mail."""
    post("alice", "1002", "bobs-bikes", "Is the bike assembled?")
    post("bob", "1002", "bobs-bikes", "Yes. Is anything damaged?")
    return conversation_of("1002", "bobs-bikes")


def address_for(conversation, user):
    return make_reply_address(
        conversation_id=conversation.pk,
        user_id=user.pk if user else None,
        email=user.email if user else conversation.customer_email,
        today=timezone.localdate(),
    )


def reply(*, sender, to, body, attached=(), inline=()):
    """A reply as a phone's mail app writes it: the text, the quote, then the files
    (``inline``: shown in the text, as iOS Mail sends photos)."""
    email = EmailMessage()
    email["From"] = f"Someone <{sender}>"
    email["To"] = to
    email["Subject"] = "Re: Order #1002: new message"
    email["Message-ID"] = make_msgid(domain="mail.example")
    email.set_content(f"{body}\n\nOn Sun, Nov 22, 2026 at 10:02 AM Bob wrote:\n> Damaged?\n")
    for disposition, parts in (("attachment", attached), ("inline", inline)):
        for name, content, content_type in parts:
            maintype, subtype = content_type.split("/")
            email.add_attachment(content, maintype, subtype, filename=name, disposition=disposition)
    return email.as_bytes()


JPEG, PNG, PDF, ZIP = "image/jpeg", "image/png", "application/pdf", "application/zip"


def stored(attachment) -> bytes:
    with attachment_storage().open(attachment.file, "rb") as f:
        return f.read()


def stored_files() -> set[str]:
    root = django_settings.MEDIA_ROOT
    return {os.path.join(folder, name) for folder, _, names in os.walk(root) for name in names}


def assert_no_file_content_in(raw: str, *contents: bytes) -> None:
    for content in contents:
        encoded = base64.encodebytes(content).decode()
        assert encoded.splitlines()[1] not in raw  # a line from inside the file


def test_a_phone_photo_in_a_reply_is_posted_without_its_exif(helmet, demo):
    photo = files.phone_photo()
    raw = reply(
        sender=ALICE,
        to=address_for(helmet, demo["alice"]),
        body="Yes, the frame. Photo below.",
        inline=[("IMG_0001.JPG", photo, JPEG)],
    )

    outcome = inbound.receive(raw)

    assert (outcome.status, outcome.reason) == ("posted", "")
    message = outcome.inbound.posted
    assert message.body == "Yes, the frame. Photo below."
    (attachment,) = message.attachments.all()
    assert (attachment.name, attachment.content_type, attachment.uploaded_by) == (
        "IMG_0001.JPG",
        JPEG,
        demo["alice"],
    )
    assert attachment.conversation == helmet
    assert Conversation.objects.get(pk=helmet.pk).attachment_count == 1
    clean = stored(attachment)
    image = Image.open(io.BytesIO(clean))
    assert len(image.getexif()) == 0 and "exif" not in image.info
    assert b"PhoneMaker" not in clean and b"Exif" not in clean
    assert image.size == (300, 400)  # turned as the phone was held


def test_the_kept_mail_names_the_files_instead_of_holding_them(helmet, demo):
    photo, bill = files.phone_photo(), files.pdf()
    raw = reply(
        sender=ALICE,
        to=address_for(helmet, demo["alice"]),
        body="Photo and bill attached.",
        attached=[("IMG_0001.JPG", photo, JPEG), ("bill.pdf", bill, PDF)],
    )

    kept = inbound.receive(raw).inbound

    kept.refresh_from_db()
    assert "Photo and bill attached." in kept.raw  # the text is there for staff
    assert f"[attachment left out: IMG_0001.JPG, image/jpeg, {len(photo)} bytes]" in kept.raw
    assert f"[attachment left out: bill.pdf, application/pdf, {len(bill)} bytes]" in kept.raw
    assert 'filename="IMG_0001.JPG"' in kept.raw  # the structure as it came
    assert_no_file_content_in(kept.raw, photo, bill)
    assert len(kept.raw) < 3000


def test_a_mail_kept_for_staff_does_not_keep_its_files_either(helmet, demo):
    photo = files.phone_photo()
    raw = reply(
        sender="mallory@evil.example",
        to=address_for(helmet, demo["alice"]),
        body="Sneaky",
        attached=[("IMG_0001.JPG", photo, JPEG)],
    )

    outcome = inbound.receive(raw)

    assert outcome.status == "unrouted"
    assert_no_file_content_in(outcome.inbound.raw, photo)
    assert "IMG_0001.JPG, image/jpeg" in outcome.inbound.raw
    assert not Attachment.objects.exists()


def test_a_zip_is_refused_and_the_photo_and_text_are_posted(helmet, demo):
    raw = reply(
        sender=ALICE,
        to=address_for(helmet, demo["alice"]),
        body="Photo and the manual.",
        attached=[
            ("manual.zip", files.zip_bomb(), ZIP),
            ("IMG_0001.JPG", files.phone_photo(), JPEG),
        ],
    )

    outcome = inbound.receive(raw)

    assert outcome.status == "posted"
    message = outcome.inbound.posted
    assert message.body == "Photo and the manual."
    assert [a.name for a in message.attachments.all()] == ["IMG_0001.JPG"]
    kept = InboundMail.objects.get(pk=outcome.inbound.pk)
    assert kept.status == InboundMail.Status.POSTED
    assert kept.reason.startswith("1 of 2 files refused: “manual.zip” cannot be attached")
    assert "archives" in kept.reason and kept.reason == outcome.reason
    assert not Attachment.objects.filter(message__isnull=True).exists()


def test_files_past_the_limit_are_refused(helmet, demo, settings):
    settings.ORDER_MESSAGES_ATTACHMENT_MAX_FILES = 2
    raw = reply(
        sender=ALICE,
        to=address_for(helmet, demo["alice"]),
        body="Three photos",
        attached=[(f"{n}.png", files.png(), PNG) for n in ("one", "two", "three")],
    )

    outcome = inbound.receive(raw)

    assert [a.name for a in outcome.inbound.posted.attachments.all()] == ["one.png", "two.png"]
    assert "“three.png”: a message can carry at most 2 files" in outcome.inbound.reason


def test_a_reply_of_files_only_posts_the_files(post, demo):
    post("dave", "1006", "daves-outdoor", "Which one do you mean?")
    conversation = conversation_of("1006", "daves-outdoor")
    raw = reply(
        sender=GINA,
        to=address_for(conversation, None),
        body="",
        attached=[("this-one.png", files.png(), PNG)],
    )

    outcome = inbound.receive(raw)

    assert outcome.status == "posted"
    message = outcome.inbound.posted
    assert (message.body, message.author, message.author_role) == ("", None, "customer")
    (attachment,) = message.attachments.all()
    assert attachment.name == "this-one.png" and attachment.uploaded_by is None


def test_a_reply_whose_files_are_all_refused_and_has_no_text_is_kept(helmet, demo):
    raw = reply(
        sender=ALICE,
        to=address_for(helmet, demo["alice"]),
        body="",
        attached=[("page.html", files.HTML, "text/html")],
    )
    messages = Message.objects.count()

    outcome = inbound.receive(raw)

    assert outcome.status == "unrouted"
    assert outcome.reason.startswith("no text, and 1 of 1 files refused: “page.html”")
    assert Message.objects.count() == messages
    assert not Attachment.objects.exists()


def test_a_reply_that_cannot_be_posted_leaves_no_upload_behind(
    helmet, demo, settings, django_capture_on_commit_callbacks
):
    settings.ORDER_MESSAGES_MAX_MESSAGE_LENGTH = 20
    before = stored_files()
    raw = reply(
        sender=ALICE,
        to=address_for(helmet, demo["alice"]),
        body="Far longer than the twenty characters allowed here.",
        attached=[("IMG_0001.JPG", files.phone_photo(), JPEG), ("b.png", files.png(), PNG)],
    )

    with django_capture_on_commit_callbacks(execute=True):
        outcome = inbound.receive(raw)

    assert outcome.status == "unrouted" and outcome.reason.startswith("refused: A message can")
    assert not Attachment.objects.filter(discarded_at__isnull=True).exists()
    assert stored_files() == before  # the files went with their rows


def test_a_database_failure_while_posting_leaves_no_upload_behind(
    helmet, demo, django_capture_on_commit_callbacks
):
    before = stored_files()
    raw = reply(
        sender=ALICE,
        to=address_for(helmet, demo["alice"]),
        body="Photo",
        attached=[("IMG_0001.JPG", files.phone_photo(), JPEG)],
    )

    with (
        django_capture_on_commit_callbacks(execute=True),
        mock.patch("order_messages.actions.post_message", side_effect=DatabaseError("gone")),
        pytest.raises(DatabaseError),  # the MTA tries again later
    ):
        inbound.receive(raw)

    assert not Attachment.objects.filter(discarded_at__isnull=True).exists()
    assert stored_files() == before


def test_a_reply_with_a_few_phone_photos_fits_the_default_size_limit(helmet, demo):
    photos = [files.phone_photo(width=2400, height=1800, size_hint=1) for _ in range(3)]
    raw = reply(
        sender=ALICE,
        to=address_for(helmet, demo["alice"]),
        body="All three sides.",
        inline=[(f"IMG_000{n}.JPG", photo, JPEG) for n, photo in enumerate(photos)],
    )
    assert sum(map(len, photos)) > 9_000_000
    assert len(raw) <= app_settings.INBOUND_MAX_BYTES

    outcome = inbound.receive(raw)

    assert outcome.status == "posted" and outcome.reason == ""
    assert outcome.inbound.posted.attachments.count() == 3
    assert len(InboundMail.objects.get(pk=outcome.inbound.pk).raw) < 5000


def test_the_refusal_note_names_every_file_within_the_column():
    refused = [
        f"“{name}.zip” cannot be attached: archives (zip and the like) are not accepted; "
        "attach the files themselves."
        for name in ("alpha", "bravo", "charlie", "delta", "echo")
    ]

    note = refusal_note(refused, files=6)

    assert len(note) <= 200 and note.startswith("5 of 6 files refused: ")
    for name in ("alpha", "bravo", "charlie", "delta", "echo"):
        assert f"“{name}.zip”" in note


def test_a_mail_that_cannot_be_taken_apart_keeps_no_encoded_file():
    photo = files.phone_photo()
    encoded = base64.encodebytes(photo)
    raw = b"From: a@b.example\r\nContent-Type: image/jpeg\r\n\r\n" + encoded

    with mock.patch("email.message_from_bytes", side_effect=RecursionError):
        kept = kept_raw(raw)

    assert "From: a@b.example" in kept and "lines of encoded data left out" in kept
    assert_no_file_content_in(kept, photo)


def test_while_the_virus_scanner_is_down_the_mail_server_tries_again(
    helmet, demo, settings, tmp_path
):
    """The pipe answers "try again later" and keeps nothing; a provider's webhook, which
    cannot be asked to retry, posts the text and says the files could not be checked."""
    settings.ORDER_MESSAGES_ATTACHMENT_CLAMD = str(tmp_path / "no-clamd.sock")
    raw = reply(
        sender=ALICE,
        to=address_for(helmet, demo["alice"]),
        body="Photo of the crack",
        attached=[("IMG_0001.JPG", files.phone_photo(), JPEG)],
    )
    messages, rows = Message.objects.count(), Attachment.objects.count()

    with pytest.raises(ScanUnavailable):
        inbound.receive(raw)
    assert (Message.objects.count(), Attachment.objects.count()) == (messages, rows)

    outcome = inbound.receive_from_webhook(raw)
    assert outcome.status == "posted"
    assert "IMG_0001.JPG" in outcome.reason and "viruses" in outcome.reason
    assert Attachment.objects.count() == rows


def test_a_signatures_logo_is_not_taken_for_a_file(helmet, demo):
    """Outlook shows the sender's logo in the HTML (cid:image001.png@…) as an inline
    image: not a file meant for the conversation. A photo attached beside it is."""
    email = EmailMessage()
    email["From"] = f"Alice <{ALICE}>"
    email["To"] = address_for(helmet, demo["alice"])
    email["Subject"] = "Re: Order #1002: new message"
    email["Message-ID"] = make_msgid(domain="mail.example")
    email.set_content("Here is the photo.\n\nAlice\n")
    email.add_alternative(
        '<p>Here is the photo.</p><p>Alice<br><img src="cid:image001.png@01DA5C3E.1"></p>',
        subtype="html",
    )
    logo = files.png(width=120, height=40)
    email.get_payload()[1].add_related(
        logo,
        "image",
        "png",
        cid="<image001.png@01DA5C3E.1>",
        filename="image001.png",
        disposition="inline",
    )
    email.add_attachment(files.phone_photo(), "image", "jpeg", filename="IMG_0001.JPG")

    outcome = inbound.receive(email.as_bytes())

    assert outcome.status == "posted", outcome.reason
    (attachment,) = outcome.inbound.posted.attachments.all()
    assert attachment.name == "IMG_0001.JPG"
