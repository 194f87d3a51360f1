"""Files on the pages: attach in the composer (uploaded first, or with the form when the
page has no script), in the open-dispute form; open them only with access."""

import io

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from PIL import Image

from order_messages.models import Attachment, Message

from . import files
from .conftest import conversation_of, guest_grant

THREAD = "/messages/orders/{}/{}/"
UPLOAD = "/messages/orders/{}/{}/files/"


def upload(client, number, vendor_key, name, content):
    return client.post(UPLOAD.format(number, vendor_key), {"file": _file(name, content)})


def _file(name, content):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, content)


def test_a_photo_uploaded_first_is_posted_with_the_message(client_for):
    alice = client_for("alice")
    uploaded = upload(alice, "1001", "daves-outdoor", "IMG_2041.JPG", files.phone_photo())
    assert uploaded.status_code == 201
    data = uploaded.json()
    assert data["name"] == "IMG_2041.JPG" and data["content_type"] == "image/jpeg"
    assert data["thumbnail_url"] and data["discard_url"]

    response = alice.post(
        THREAD.format("1001", "daves-outdoor"),
        {"body": "The tent arrived torn, see the photo.", "attachments": [data["id"]]},
    )
    assert response.status_code == 302
    message = Message.objects.get(conversation=conversation_of("1001", "daves-outdoor"))
    (attachment,) = message.attachments.all()
    assert attachment.pk == data["id"]
    assert conversation_of("1001", "daves-outdoor").attachment_count == 1

    page = client_for("dave").get(THREAD.format("1001", "daves-outdoor")).content.decode()
    assert f'src="/messages/files/{attachment.pk}/thumbnail/"' in page
    assert 'alt="IMG_2041.JPG"' in page


def test_without_script_the_files_go_with_the_form(client_for):
    alice = client_for("alice")
    response = alice.post(
        THREAD.format("1002", "bobs-bikes"),
        {"body": "", "files": [_file("label.pdf", files.pdf()), _file("box.png", files.png())]},
    )
    assert response.status_code == 302
    message = Message.objects.filter(conversation=conversation_of("1002", "bobs-bikes")).last()
    assert message.body == ""
    assert [a.name for a in message.attachments.order_by("pk")] == ["label.pdf", "box.png"]
    assert conversation_of("1002", "bobs-bikes").last_message_excerpt == "📎 label.pdf, box.png"


def test_a_refused_file_keeps_the_text_and_the_files_already_stored(client_for):
    alice = client_for("alice")
    before = Message.objects.count()
    response = alice.post(
        THREAD.format("1002", "bobs-bikes"),
        {
            "body": "Two photos",
            "files": [_file("good.png", files.png()), _file("evil.jpg", files.HTML)],
        },
    )
    assert response.status_code == 422
    page = response.content.decode()
    assert "“evil.jpg” cannot be attached" in page
    assert "Two photos" in page  # the text is still in the composer
    good = Attachment.objects.get(name="good.png")
    assert good.message is None
    assert f'name="attachments" value="{good.pk}"' in page  # offered again, not lost
    assert Message.objects.count() == before


def test_a_message_carries_at_most_the_allowed_number_of_files(client_for, settings):
    settings.ORDER_MESSAGES_ATTACHMENT_MAX_FILES = 2
    alice = client_for("alice")
    ids = [
        upload(alice, "1002", "bobs-bikes", f"p{i}.png", files.png()).json()["id"] for i in range(3)
    ]
    before = Message.objects.count()
    response = alice.post(THREAD.format("1002", "bobs-bikes"), {"body": "x", "attachments": ids})
    assert response.status_code == 422
    assert "at most 2 files" in response.content.decode()
    assert Message.objects.count() == before
    assert Attachment.objects.filter(pk__in=ids, message__isnull=True).count() == 3


def test_someone_elses_upload_cannot_be_posted(client_for):
    carol_upload = upload(client_for("carol"), "1005", "bobs-bikes", "x.png", files.png()).json()
    bob = client_for("bob")
    before = Message.objects.count()
    response = bob.post(
        THREAD.format("1005", "bobs-bikes"),
        {"body": "mine now", "attachments": [carol_upload["id"]]},
    )
    assert response.status_code == 409
    assert "no longer available" in response.content.decode()
    assert Message.objects.count() == before
    assert Attachment.objects.get(pk=carol_upload["id"]).message is None


def test_a_refused_upload_answers_with_the_reason(client_for):
    before = Attachment.objects.count()
    response = upload(client_for("alice"), "1002", "bobs-bikes", "bomb.zip", files.zip_bomb())
    assert response.status_code == 422
    assert "archives" in response.json()["error"]
    huge = upload(client_for("alice"), "1002", "bobs-bikes", "huge.png", files.huge_png())
    assert huge.status_code == 422 and "megapixels" in huge.json()["error"]
    assert Attachment.objects.count() == before


def test_an_upload_is_only_for_a_conversation_the_person_may_write_in(client_for):
    before = Attachment.objects.count()
    assert (
        upload(client_for("carol"), "1002", "bobs-bikes", "x.png", files.png()).status_code == 404
    )
    assert upload(client_for("dave"), "1002", "bobs-bikes", "x.png", files.png()).status_code == 404
    assert Attachment.objects.count() == before


def test_removing_an_upload_deletes_it(client_for):
    alice = client_for("alice")
    data = upload(alice, "1002", "bobs-bikes", "x.png", files.png()).json()
    assert client_for("bob").post(data["discard_url"]).status_code == 404
    assert alice.post(data["discard_url"]).json() == {"discarded": True}
    assert Attachment.objects.get(pk=data["id"]).discarded_at
    assert alice.get(data["url"]).status_code == 404
    assert alice.post(data["discard_url"]).status_code == 404


# -- opening files --------------------------------------------------------------------------


@pytest.fixture
def posted_photo(client_for):
    alice = client_for("alice")
    data = upload(alice, "1001", "daves-outdoor", "tent.jpg", files.phone_photo()).json()
    alice.post(
        THREAD.format("1001", "daves-outdoor"), {"body": "Torn", "attachments": [data["id"]]}
    )
    return Attachment.objects.get(pk=data["id"])


@pytest.mark.parametrize(
    ("who", "status"),
    [("alice", 200), ("dave", 200), ("admin", 200), ("bob", 404), ("carol", 404)],
)
def test_a_file_opens_only_for_those_who_may_read_its_conversation(
    client_for, posted_photo, who, status
):
    for url in (
        f"/messages/files/{posted_photo.pk}/",
        f"/messages/files/{posted_photo.pk}/thumbnail/",
    ):
        assert client_for(who).get(url).status_code == status


def test_a_signed_out_visitor_gets_nothing(posted_photo):
    assert Client().get(f"/messages/files/{posted_photo.pk}/").status_code == 404


def test_the_file_served_is_the_clean_copy_with_safe_headers(client_for, posted_photo):
    response = client_for("dave").get(f"/messages/files/{posted_photo.pk}/")
    content = b"".join(response.streaming_content)
    image = Image.open(io.BytesIO(content))
    assert len(image.getexif()) == 0 and b"PhoneMaker" not in content
    assert response["Content-Type"] == "image/jpeg"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in response["Content-Security-Policy"]
    assert response["Content-Disposition"].startswith("inline")
    assert "private" in response["Cache-Control"]


def test_a_pdf_is_always_a_download(client_for):
    alice = client_for("alice")
    alice.post(
        THREAD.format("1002", "bobs-bikes"),
        {"body": "invoice", "files": [_file("inv.pdf", files.pdf())]},
    )
    pdf = Attachment.objects.get(name="inv.pdf")
    response = client_for("bob").get(f"/messages/files/{pdf.pk}/")
    assert response["Content-Disposition"] == 'attachment; filename="inv.pdf"'
    assert response["Content-Type"] == "application/pdf"


def test_an_upload_not_yet_posted_is_seen_by_its_uploader_only(client_for):
    data = upload(client_for("alice"), "1002", "bobs-bikes", "x.png", files.png()).json()
    assert client_for("alice").get(data["url"]).status_code == 200
    assert client_for("bob").get(data["url"]).status_code == 404
    assert client_for("admin").get(data["url"]).status_code == 404


def test_a_guest_uploads_and_opens_files_of_their_order(demo):
    guest = Client()
    session = guest.session
    session["order_messages_guest_orders"] = guest_grant("1006")
    session.save()
    data = upload(guest, "1006", "daves-outdoor", "bag.png", files.png()).json()
    assert (
        guest.post(
            THREAD.format("1006", "daves-outdoor"), {"body": "", "attachments": [data["id"]]}
        ).status_code
        == 302
    )
    assert guest.get(data["url"]).status_code == 200
    assert Client().get(data["url"]).status_code == 404


def test_access_to_a_file_follows_the_store(client_for, posted_photo, demo):
    """The order given to carol: alice's link to the photo stops working."""
    from demo.store.models import Order

    Order.objects.filter(number="1001").update(customer=demo["carol"])
    assert client_for("alice").get(f"/messages/files/{posted_photo.pk}/").status_code == 404
    assert client_for("carol").get(f"/messages/files/{posted_photo.pk}/").status_code == 200


# -- disputes ---------------------------------------------------------------------------------


def test_a_dispute_opens_with_photos(client_for, post):
    post("alice", "1001", "daves-outdoor", "The tent has a tear along the seam.")
    alice = client_for("alice")
    data = upload(alice, "1001", "daves-outdoor", "torn.jpg", files.phone_photo()).json()
    response = alice.post(
        "/messages/orders/1001/daves-outdoor/dispute/open/",
        {"reason": "The tent is torn.", "attachments": [data["id"]]},
    )
    assert response.status_code == 302
    conversation = conversation_of("1001", "daves-outdoor")
    event = conversation.messages.get(kind=Message.Kind.DISPUTE_OPENED)
    assert [a.pk for a in event.attachments.all()] == [data["id"]]
    page = client_for("dave").get(THREAD.format("1001", "daves-outdoor")).content.decode()
    assert f"/messages/files/{data['id']}/thumbnail/" in page


# -- cost -----------------------------------------------------------------------------------


def test_a_thread_page_costs_the_same_with_one_or_many_files(client_for):
    alice = client_for("alice")
    url = THREAD.format("1002", "bobs-bikes")

    def queries():
        alice.get(url)
        with CaptureQueriesContext(connection) as captured:
            assert alice.get(url).status_code == 200
        return len(captured)

    alice.post(url, {"body": "one", "files": [_file("a.png", files.png())]})
    one = queries()
    for i in range(4):
        alice.post(
            url, {"body": "more", "files": [_file(f"{i}.png", files.png()) for _ in range(3)]}
        )
    many = queries()
    assert Attachment.objects.filter(order_number="1002").count() == 13
    assert one == many


@pytest.mark.parametrize(
    ("name", "says"),
    [
        ("x" * 300 + ".jpg", "at most 200 characters"),
        ("../../../etc/cron.d/evil.jpg", None),  # browsers' and Django's parser keep the last part
    ],
)
def test_file_names_from_a_form(client_for, name, says):
    response = upload(client_for("alice"), "1002", "bobs-bikes", name, files.png())
    if says:
        assert response.status_code == 422 and says in response.json()["error"]
        return
    assert response.status_code == 201
    stored = Attachment.objects.get(pk=response.json()["id"])
    assert stored.name == "evil.png" and "/" not in stored.name
    assert ".." not in stored.file and "evil" not in stored.file


def test_too_many_files_without_script_are_refused_before_any_is_stored(client_for, settings):
    settings.ORDER_MESSAGES_ATTACHMENT_MAX_FILES = 2
    before = Attachment.objects.count()
    response = client_for("alice").post(
        THREAD.format("1002", "bobs-bikes"),
        {"body": "Three", "files": [_file(f"{i}.png", files.png()) for i in range(3)]},
    )
    assert response.status_code == 422
    assert "at most 2 files" in response.content.decode()
    assert Attachment.objects.count() == before


def test_a_file_kept_from_a_refused_post_can_be_left_out_without_script(client_for):
    alice = client_for("alice")
    url = THREAD.format("1002", "bobs-bikes")
    refused = alice.post(
        url,
        {"body": "x" * 6000, "files": [_file("a.png", files.png()), _file("b.png", files.png())]},
    )
    assert refused.status_code == 422
    a, b = Attachment.objects.filter(name__in=["a.png", "b.png"]).order_by("name")
    page = refused.content.decode()
    assert f'name="attachments" value="{a.pk}" id="composer-files-keep-{a.pk}" checked' in page
    # The person unticks b.png and sends again.
    assert alice.post(url, {"body": "Just one", "attachments": [a.pk]}).status_code == 302
    a.refresh_from_db(), b.refresh_from_db()
    assert a.message is not None and b.message is None


@pytest.mark.parametrize("bad", ["²", "1" * 30, "-3", "abc"])
def test_odd_attachment_ids_are_refused_clearly(client_for, bad):
    response = client_for("alice").post(
        THREAD.format("1002", "bobs-bikes"), {"body": "Hi", "attachments": [bad]}
    )
    assert response.status_code == 409
    assert "no longer available" in response.content.decode()


def test_a_vendor_who_left_no_longer_opens_its_files(client_for, posted_photo, demo):
    """Dave leaves Dave's Outdoor: the photo in its conversation is 404 for him from then."""
    from demo.store.models import Vendor

    url = f"/messages/files/{posted_photo.pk}/"
    assert client_for("dave").get(url).status_code == 200
    Vendor.objects.get(slug="daves-outdoor").staff.remove(demo["dave"])
    assert client_for("dave").get(url).status_code == 404
