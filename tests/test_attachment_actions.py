"""Upload first, then post: a message and its files are written together or not at all,
and a file that is refused or fails to be recorded leaves nothing behind."""

from pathlib import Path
from unittest import mock

import pytest
from django.conf import settings as django_settings
from django.db import IntegrityError
from django.http import Http404
from django.utils import translation

from order_messages import actions, policy
from order_messages.errors import AttachmentRefused, AttachmentUnavailable, Throttled
from order_messages.models import Attachment, Message

from . import files
from .conftest import conversation_of, guest_grant


def stored_files() -> set[Path]:
    root = Path(django_settings.MEDIA_ROOT)
    return {p for p in root.rglob("*") if p.is_file()}


@pytest.fixture
def as_alice(access_as):
    access = access_as("alice", "1002")
    sub_order = access.sub_order("bobs-bikes")
    return access, sub_order, access.actor_in(sub_order)


def upload(actor, content=None, name="photo.jpg"):
    return actions.upload_attachment(
        order_number="1002",
        vendor_key="bobs-bikes",
        actor=actor,
        name=name,
        content=content or files.phone_photo(),
    )


def post(access, sub_order, actor, ids, body="See the photo"):
    return actions.post_message(
        order=access.order, sub_order=sub_order, actor=actor, body=body, attachments=ids
    )


def test_an_upload_stores_a_clean_file_and_its_thumbnail(as_alice):
    _, _, actor = as_alice
    before = stored_files()
    attachment = upload(actor)
    new = stored_files() - before
    assert {p.name for p in new} == {
        Path(attachment.file).name,
        Path(attachment.thumbnail).name,
    }
    assert "photo" not in attachment.file  # the person's name never steers where it goes
    assert attachment.message is None and attachment.uploaded_by == actor.user


def test_a_failure_after_the_files_were_claimed_writes_neither(as_alice):
    access, sub_order, actor = as_alice
    attachment = upload(actor)
    messages = Message.objects.count()
    count = conversation_of("1002", "bobs-bikes").attachment_count

    with (
        mock.patch(
            "order_messages.actions.messages.queue_notifications",
            side_effect=RuntimeError("outbox down"),
        ),
        pytest.raises(RuntimeError),
    ):
        post(access, sub_order, actor, [attachment.pk])

    attachment.refresh_from_db()
    assert attachment.message is None and attachment.conversation is None
    assert Message.objects.count() == messages
    assert conversation_of("1002", "bobs-bikes").attachment_count == count
    # Still waiting for a message: the next try posts it.
    message = post(access, sub_order, actor, [attachment.pk])
    assert list(message.attachments.all()) == [attachment]


def test_a_file_goes_with_one_message_only(as_alice):
    access, sub_order, actor = as_alice
    attachment = upload(actor)
    post(access, sub_order, actor, [attachment.pk])
    messages = Message.objects.count()
    with pytest.raises(AttachmentUnavailable):
        post(access, sub_order, actor, [attachment.pk], body="Again")
    assert Message.objects.count() == messages


def test_an_upload_goes_only_to_the_conversation_it_was_made_for(as_alice, access_as):
    _, _, actor = as_alice
    attachment = upload(actor)
    other = access_as("alice", "1001")
    sub_order = other.sub_order("bobs-bikes")
    with pytest.raises(AttachmentUnavailable):
        post(other, sub_order, other.actor_in(sub_order), [attachment.pk])


def test_a_row_that_cannot_be_written_takes_its_files_with_it(as_alice):
    _, _, actor = as_alice
    before = stored_files()
    with (
        mock.patch.object(Attachment.objects, "create", side_effect=IntegrityError("boom")),
        pytest.raises(IntegrityError),
    ):
        upload(actor)
    assert stored_files() == before


def test_a_refused_file_stores_nothing(as_alice):
    _, _, actor = as_alice
    before, rows = stored_files(), Attachment.objects.count()
    with pytest.raises(AttachmentRefused):
        upload(actor, content=files.HTML, name="invoice.pdf")
    assert stored_files() == before and Attachment.objects.count() == rows


def test_too_many_waiting_uploads_are_refused(as_alice, settings):
    settings.ORDER_MESSAGES_ATTACHMENT_MAX_FILES = 1
    _, _, actor = as_alice
    upload(actor, files.png())
    upload(actor, files.png())
    with translation.override("en"), pytest.raises(AttachmentRefused, match="waiting"):
        upload(actor, files.png())


def test_a_message_of_files_alone_is_listed_by_their_names(as_alice):
    access, sub_order, actor = as_alice
    first, second = upload(actor, name="a.jpg"), upload(actor, files.pdf(), name="b.pdf")
    message = post(access, sub_order, actor, [first.pk, second.pk], body="  ")
    assert message.body == ""
    assert conversation_of("1002", "bobs-bikes").last_message_excerpt == "📎 a.jpg, b.pdf"


def test_a_dispute_carries_its_evidence(as_alice, access_as):
    access = access_as("alice", "1001")
    sub_order = access.sub_order("daves-outdoor")
    actor = access.actor_in(sub_order)
    photo = actions.upload_attachment(
        order_number="1001",
        vendor_key="daves-outdoor",
        actor=actor,
        name="torn.jpg",
        content=files.phone_photo(),
    )
    actions.open_dispute(
        order=access.order, sub_order=sub_order, actor=actor, reason="Torn", attachments=[photo.pk]
    )
    photo.refresh_from_db()
    assert photo.message.kind == Message.Kind.DISPUTE_OPENED
    assert photo.conversation == conversation_of("1001", "daves-outdoor")


def test_uploads_are_rate_limited_removed_ones_included(as_alice, settings):
    settings.ORDER_MESSAGES_ATTACHMENT_UPLOAD_RATE_LIMIT = (3, 600)
    _, _, actor = as_alice
    for _ in range(3):
        actions.discard_upload(attachment=upload(actor, files.png()))
    with pytest.raises(Throttled) as throttled:
        upload(actor, files.png())
    assert 0 < throttled.value.retry_after <= 600


def test_an_upload_of_a_deleted_account_does_not_become_the_guests(access_as, demo):
    """Dave uploads to the guest's order and his account is deleted before he sends it:
    the upload is nobody's, not the guest's."""
    dave = access_as("dave", "1006")
    sub_order = dave.sub_order("daves-outdoor")
    invoice = actions.upload_attachment(
        order_number="1006",
        vendor_key="daves-outdoor",
        actor=dave.actor_in(sub_order),
        name="internal.pdf",
        content=files.pdf(),
    )
    demo["dave"].delete()
    guest = access_as(None, "1006")
    with pytest.raises(Http404):
        policy.access_attachment(user=None, attachment_id=invoice.pk, guests=guest_grant("1006"))
    with pytest.raises(AttachmentUnavailable):
        actions.post_message(
            order=guest.order,
            sub_order=guest.sub_order("daves-outdoor"),
            actor=guest.actor_in(guest.sub_order("daves-outdoor")),
            body="Mine?",
            attachments=[invoice.pk],
        )
