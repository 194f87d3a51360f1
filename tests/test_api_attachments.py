"""Files through the JSON API: uploaded as multipart, sent with a message or a dispute by
their ids, listed with the messages, served cleaned and only to those who may read the
conversation, removed while not sent."""

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from PIL import Image

from order_messages.attachments.storage import attachment_storage
from order_messages.models import Attachment, Message
from tests import files, test_api
from tests.conftest import assert_counters_exact, conversation_of
from tests.test_api import API, BIKES, ORDER, error_of, snapshot

api_as = test_api.api_as  # the fixture: a caller with a token or a session

UPLOAD = f"{BIKES}/attachments"


def upload(caller, name, content, *, path=UPLOAD, content_type="application/octet-stream"):
    """POST one file as multipart/form-data, the way an app sends it."""
    return caller.client.post(
        path,
        {"file": SimpleUploadedFile(name, content, content_type=content_type)},
        headers=caller.headers,
    )


def uploaded(caller, name="photo.png", content=None, **kwargs) -> dict:
    response = upload(caller, name, files.png() if content is None else content, **kwargs)
    assert response.status_code == 201, response.content
    return response.json()


def stored_files() -> int:
    """Attachment rows, those the demo seeds included."""
    return Attachment.objects.count()


def file_of(caller, url):
    return caller.client.get(url, headers=caller.headers)


def test_a_phone_photo_is_uploaded_posted_listed_and_served_without_its_metadata(demo, api_as):
    alice, bob = api_as("alice"), api_as("bob")

    response = upload(alice, "IMG_4127.JPG", files.phone_photo(), content_type="image/jpeg")

    assert response.status_code == 201, response.content
    photo = response.json()
    attachment = Attachment.objects.get(pk=photo["id"])
    assert photo == {
        "id": attachment.pk,
        "name": "IMG_4127.JPG",
        "content_type": "image/jpeg",
        "size": attachment.size,
        # Stored upright: the camera's 400 × 300 pixels, held as orientation 6 says.
        "width": 300,
        "height": 400,
        "url": f"{API}/attachments/{attachment.pk}/content",
        "thumbnail_url": f"{API}/attachments/{attachment.pk}/thumbnail",
    }
    assert attachment.message is None and attachment.uploaded_by == demo["alice"]

    posted = alice.post(f"{BIKES}/messages", {"body": "", "attachments": [photo["id"]]})

    assert posted.status_code == 201, posted.content
    assert posted.json()["attachments"] == [photo]
    assert posted.json()["body"] == ""
    message = Message.objects.get(pk=Attachment.objects.get(pk=photo["id"]).message_id)
    assert message.seq == posted.json()["seq"]
    listed = bob.get(f"{BIKES}/messages").json()
    assert listed["messages"][-1]["attachments"] == [photo]
    assert [m["attachments"] for m in listed["messages"][:-1]] == [[]] * 3
    assert listed["conversation"]["attachment_count"] == 1
    (tab,) = bob.get(ORDER).json()["conversations"]
    assert tab["attachment_count"] == 1
    mine = alice.get(f"{API}/conversations").json()["items"]
    assert [c["attachment_count"] for c in mine if c["order_number"] == "1002"] == [1]

    served = file_of(bob, photo["url"])

    assert served.status_code == 200
    assert served["Content-Type"] == "image/jpeg"
    assert served["X-Content-Type-Options"] == "nosniff"
    content = b"".join(served.streaming_content)
    assert len(content) == photo["size"]
    image = Image.open(io.BytesIO(content))
    assert image.format == "JPEG" and image.size == (300, 400)
    assert len(image.getexif()) == 0
    assert b"PhoneMaker" not in content
    thumbnail = file_of(bob, photo["thumbnail_url"])
    assert thumbnail.status_code == 200 and thumbnail["Content-Type"] == "image/webp"
    assert max(Image.open(io.BytesIO(b"".join(thumbnail.streaming_content))).size) <= 480
    assert_counters_exact()


def test_a_file_is_hidden_from_those_who_may_not_read_its_conversation(demo, api_as):
    alice = api_as("alice")
    photo = uploaded(alice)
    # Before it is sent, it is its uploader's alone: not even the vendor sees it.
    assert file_of(api_as("bob"), photo["url"]).status_code == 404
    alice.post(f"{BIKES}/messages", {"body": "See the photo", "attachments": [photo["id"]]})

    for who in ("dave", "carol"):  # a vendor with nothing in #1002, another customer
        caller = api_as(who)
        for url in (photo["url"], photo["thumbnail_url"]):
            response = file_of(caller, url)
            assert response.status_code == 404
            assert error_of(response) == "not_found"
        assert (
            caller.client.delete(
                photo["url"].removesuffix("/content"), headers=caller.headers
            ).status_code
            == 404
        )
    assert file_of(api_as("bob"), photo["url"]).status_code == 200
    assert file_of(api_as("admin"), photo["url"]).status_code == 200
    assert file_of(api_as("anonymous"), photo["url"]).status_code == 401
    assert file_of(alice, f"{API}/attachments/999999/content").status_code == 404


def test_a_pdf_has_no_size_in_pixels_and_no_thumbnail(api_as):
    alice = api_as("alice")

    pdf = uploaded(alice, "invoice.pdf", files.pdf())

    assert pdf["content_type"] == "application/pdf"
    assert pdf["width"] is None and pdf["height"] is None
    assert pdf["thumbnail_url"] is None
    thumbnail = file_of(alice, f"{API}/attachments/{pdf['id']}/thumbnail")
    assert thumbnail.status_code == 404
    assert thumbnail.json()["error"] == {
        "code": "not_found",
        "message": "This file has no thumbnail.",
    }
    served = file_of(alice, pdf["url"])
    assert served["Content-Type"] == "application/pdf"
    assert served["Content-Disposition"].startswith("attachment")


def test_posting_someone_elses_upload_is_a_conflict_and_posts_nothing(api_as):
    bobs = uploaded(api_as("bob"))
    before = snapshot()

    response = api_as("alice").post(
        f"{BIKES}/messages", {"body": "Look at this", "attachments": [bobs["id"]]}
    )

    assert response.status_code == 409
    assert error_of(response) == "attachment_unavailable"
    assert snapshot() == before
    assert Attachment.objects.get(pk=bobs["id"]).message_id is None


def test_more_files_than_a_message_may_carry_are_refused_and_nothing_is_posted(api_as):
    alice = api_as("alice")
    ids = [uploaded(alice, f"photo-{i}.png")["id"] for i in range(6)]
    before = snapshot()

    response = alice.post(f"{BIKES}/messages", {"body": "Six photos", "attachments": ids})

    assert response.status_code == 422
    assert error_of(response) == "attachment_refused"
    assert "at most 5 files" in response.json()["error"]["message"]
    assert snapshot() == before
    assert Attachment.objects.filter(pk__in=ids, message=None).count() == 6


def test_a_web_page_renamed_as_a_pdf_is_refused_and_says_why(api_as):
    before = stored_files()

    response = upload(api_as("alice"), "invoice.pdf", files.HTML, content_type="application/pdf")

    assert response.status_code == 422
    assert error_of(response) == "attachment_refused"
    message = response.json()["error"]["message"]
    assert "invoice.pdf" in message and "web pages" in message
    assert stored_files() == before


def test_a_file_over_the_size_limit_is_refused(api_as, settings):
    settings.ORDER_MESSAGES_ATTACHMENT_MAX_BYTES = 1000

    before = stored_files()

    response = upload(api_as("alice"), "IMG_1.jpg", files.phone_photo())

    assert response.status_code == 413
    assert error_of(response) == "too_large"
    assert "IMG_1.jpg" in response.json()["error"]["message"]
    assert stored_files() == before


@pytest.mark.parametrize(
    "data", [{}, {"file": "not a file"}, {"other": SimpleUploadedFile("a.png", files.png())}]
)
def test_an_upload_without_the_file_field_is_a_validation_error(api_as, data):
    caller = api_as("alice")

    before = stored_files()

    response = caller.client.post(UPLOAD, data, headers=caller.headers)

    assert response.status_code == 422
    assert error_of(response) == "validation_error"
    assert stored_files() == before


def test_a_body_that_is_not_multipart_is_a_validation_error(api_as):
    caller = api_as("alice")

    response = caller.client.generic(
        "POST", UPLOAD, b"garbage", content_type="multipart/form-data", headers=caller.headers
    )

    assert response.status_code == 422
    assert error_of(response) == "validation_error"
    assert response["Content-Type"].startswith("application/json")


def test_one_may_upload_only_where_one_may_read(api_as):
    before = stored_files()

    response = upload(api_as("dave"), "photo.png", files.png())

    assert response.status_code == 404
    assert stored_files() == before


def test_a_session_upload_needs_the_csrf_token(api_as):
    caller = api_as("alice", session=True, client=Client(enforce_csrf_checks=True))

    before = stored_files()

    response = upload(caller, "photo.png", files.png())

    assert response.status_code == 403
    assert error_of(response) == "forbidden"
    assert stored_files() == before


def test_removing_an_upload_not_yet_sent(api_as, django_capture_on_commit_callbacks):
    alice = api_as("alice")
    photo = uploaded(alice)
    stored = Attachment.objects.get(pk=photo["id"])
    storage = attachment_storage()
    assert storage.exists(stored.file) and storage.exists(stored.thumbnail)
    path = f"{API}/attachments/{photo['id']}"

    # Someone else's upload is not theirs to see, nor to remove.
    assert api_as("bob").client.delete(path, headers=api_as("bob").headers).status_code == 404
    with django_capture_on_commit_callbacks(execute=True):
        response = alice.client.delete(path, headers=alice.headers)

    assert response.status_code == 204
    assert Attachment.objects.get(pk=photo["id"]).discarded_at  # counted for the upload rate
    assert not storage.exists(stored.file) and not storage.exists(stored.thumbnail)
    assert alice.client.delete(path, headers=alice.headers).status_code == 404
    assert file_of(alice, photo["url"]).status_code == 404


def test_a_sent_file_cannot_be_removed(api_as):
    alice = api_as("alice")
    photo = uploaded(alice)
    alice.post(f"{BIKES}/messages", {"body": "Sent", "attachments": [photo["id"]]})

    for caller in (alice, api_as("bob")):
        response = caller.client.delete(f"{API}/attachments/{photo['id']}", headers=caller.headers)
        assert response.status_code == 409
        assert error_of(response) == "attachment_posted"
    assert Attachment.objects.get(pk=photo["id"]).message_id is not None


def test_a_dispute_carries_the_files_uploaded_for_it(api_as):
    alice = api_as("alice")
    photo = uploaded(alice, "scratch.jpg", files.phone_photo())

    response = alice.post(
        f"{BIKES}/dispute", {"reason": "The frame is scratched.", "attachments": [photo["id"]]}
    )

    assert response.status_code == 201, response.content
    last = alice.get(f"{BIKES}/messages").json()["messages"][-1]
    assert last["kind"] == "dispute_opened"
    assert [a["id"] for a in last["attachments"]] == [photo["id"]]
    assert conversation_of("1002", "bobs-bikes").attachment_count == 1


def test_the_idempotency_key_tells_apart_posts_with_other_files(api_as):
    alice = api_as("alice")
    first, second = uploaded(alice, "a.png")["id"], uploaded(alice, "b.png")["id"]
    key = {"Idempotency-Key": "with-files"}

    sent = alice.post(f"{BIKES}/messages", {"body": "Hi", "attachments": [first]}, headers=key)
    again = alice.post(f"{BIKES}/messages", {"body": "Hi", "attachments": [first]}, headers=key)
    other = alice.post(f"{BIKES}/messages", {"body": "Hi", "attachments": [second]}, headers=key)

    assert sent.status_code == again.status_code == 201
    assert again.content == sent.content and again["Idempotent-Replayed"] == "true"
    assert other.status_code == 422
    assert error_of(other) == "idempotency_key_reused"
    assert Message.objects.filter(body="Hi").count() == 1
    assert Attachment.objects.get(pk=second).message_id is None


def test_reading_messages_costs_the_same_queries_with_one_file_or_five(api_as):
    alice = api_as("alice")
    bob = api_as("bob")
    alice.post(f"{BIKES}/messages", {"body": "One", "attachments": [uploaded(alice)["id"]]})
    bob.get(f"{BIKES}/messages")  # the token's first use is noted; not what is counted

    def queries_of_reading() -> tuple[int, int]:
        with CaptureQueriesContext(connection) as captured:
            response = bob.get(f"{BIKES}/messages")
        assert response.status_code == 200
        return len(captured), sum(len(m["attachments"]) for m in response.json()["messages"])

    with_one, files_read = queries_of_reading()
    assert files_read == 1
    more = [uploaded(alice, f"p{i}.png")["id"] for i in range(4)]
    alice.post(f"{BIKES}/messages", {"body": "Four more", "attachments": more})
    with_five, files_read = queries_of_reading()

    assert files_read == 5
    assert with_five == with_one


def test_the_openapi_document_declares_the_upload_as_multipart(db):
    spec = Client().get(f"{API}/openapi.json").json()

    upload_operation = spec["paths"][
        f"{API}/orders/{{number}}/conversations/{{vendor_key}}/attachments"
    ]["post"]
    assert upload_operation["operationId"] == "uploadAttachment"
    body = upload_operation["requestBody"]["content"]
    assert list(body) == ["multipart/form-data"]
    assert body["multipart/form-data"]["schema"]["properties"]["file"]["format"] == "binary"
    assert body["multipart/form-data"]["schema"]["required"] == ["file"]
    content = spec["paths"][f"{API}/attachments/{{attachment_id}}/content"]["get"]
    served = content["responses"]["200"]["content"]
    assert {"image/jpeg", "application/pdf"} <= set(served)
    assert all(c["schema"] == {"type": "string", "format": "binary"} for c in served.values())
    message = spec["components"]["schemas"]["MessageOut"]["properties"]
    assert message["attachments"]["items"] == {"$ref": "#/components/schemas/AttachmentOut"}
    assert "attachments" in spec["components"]["schemas"]["MessageIn"]["properties"]
    assert "attachments" in spec["components"]["schemas"]["DisputeIn"]["properties"]
