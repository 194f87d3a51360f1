"""Where files are kept and how they reach the browser: the local storage and S3 (moto's
S3 server on 127.0.0.1, through django-storages), each ORDER_MESSAGES_ATTACHMENT_SERVE
mode, and the system checks that refuse a storage and a mode that do not fit."""

import io
import os
from urllib.parse import parse_qs, urlsplit

import boto3
import httpx
import pytest
import time_machine
from django.core.checks import Error
from django.core.files.storage import default_storage
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.urls import reverse
from django.utils import timezone
from moto.server import ThreadedMotoServer
from PIL import Image
from storages.backends.s3 import S3Storage

from order_messages import actions
from order_messages.attachments.storage import attachment_storage
from order_messages.checks import check_attachment_settings

from . import files

BUCKET = "shop-attachments"
PHOTO_NAME = "Zelt – Riss.jpg"  # a space and a dash no header may carry unencoded


@pytest.fixture(scope="module")
def s3():
    """moto's S3 server, in this process, on a free port of 127.0.0.1, with one bucket."""
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    client = boto3.client(
        "s3",
        endpoint_url=endpoint,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        region_name="us-east-1",
    )
    client.create_bucket(Bucket=BUCKET)
    client.endpoint = endpoint
    yield client
    server.stop()


def s3_storage(endpoint: str, **options) -> dict:
    return {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": BUCKET,
            "endpoint_url": endpoint,
            "access_key": "testing",
            "secret_key": "testing",
            "region_name": "us-east-1",
            "addressing_style": "path",
            "signature_version": "s3v4",
            "querystring_auth": True,
            **options,
        },
    }


@pytest.fixture
def on_s3(settings, s3):
    """Attachments go to the "attachments" storage, S3 in the bucket above."""
    settings.STORAGES = {**settings.STORAGES, "attachments": s3_storage(s3.endpoint)}
    settings.ORDER_MESSAGES_ATTACHMENT_STORAGE = "attachments"
    assert isinstance(attachment_storage(), S3Storage)  # changing STORAGES resets Django's
    return s3


@pytest.fixture
def posted(access_as):
    """``posted(name, content)``: Alice uploads a file in her conversation about 1002 with
    Bob's Bikes and posts it; the Attachment."""
    access = access_as("alice", "1002")
    bikes = access.sub_order("bobs-bikes")
    actor = access.actor_in(bikes)

    def make(name, content):
        upload = actions.upload_attachment(
            order_number="1002", vendor_key="bobs-bikes", actor=actor, name=name, content=content
        )
        actions.post_message(
            order=access.order, sub_order=bikes, actor=actor, body="", attachments=[upload.pk]
        )
        upload.refresh_from_db()
        assert upload.message_id is not None
        return upload

    return make


def file_url(attachment, *, thumbnail=False) -> str:
    name = "order_messages:thumbnail" if thumbnail else "order_messages:file"
    return reverse(name, kwargs={"attachment_id": attachment.pk})


def body_of(response) -> bytes:
    content = b"".join(response.streaming_content)
    response.close()
    return content


def without_metadata(content: bytes) -> bool:
    image = Image.open(io.BytesIO(content))
    return len(image.getexif()) == 0 and b"Exif" not in content and b"PhoneMaker" not in content


# -- S3 ---------------------------------------------------------------------------------------


def test_on_s3_bob_gets_the_clean_copy_streamed(on_s3, settings, posted, client_for):
    settings.ORDER_MESSAGES_ATTACHMENT_SERVE = "django"
    photo = posted(PHOTO_NAME, files.phone_photo())
    in_bucket = on_s3.get_object(Bucket=BUCKET, Key=photo.file)["Body"].read()
    assert not default_storage.exists(photo.file)  # nothing on the local disk

    response = client_for("bob").get(file_url(photo))

    assert response.status_code == 200
    assert body_of(response) == in_bucket
    assert without_metadata(in_bucket)
    assert response["Content-Type"] == "image/jpeg"
    assert response["Content-Disposition"] == "inline; filename*=utf-8''Zelt%20%E2%80%93%20Riss.jpg"
    assert response["Cache-Control"].startswith("private")


def test_on_s3_bob_is_sent_to_a_signed_url_that_expires(on_s3, settings, posted, client_for):
    settings.ORDER_MESSAGES_ATTACHMENT_SERVE = "redirect"
    settings.ORDER_MESSAGES_ATTACHMENT_REDIRECT_SECONDS = 30
    photo = posted(PHOTO_NAME, files.phone_photo())
    asked_at = timezone.now().replace(microsecond=0)

    with time_machine.travel(asked_at, tick=False):
        response = client_for("bob").get(file_url(photo))

    assert response.status_code == 302
    assert response["Cache-Control"] == "private, no-store"
    location = urlsplit(response["Location"])
    query = {key: values[0] for key, values in parse_qs(location.query).items()}
    assert f"{location.scheme}://{location.netloc}" == on_s3.endpoint
    assert location.path == f"/{BUCKET}/{photo.file}"
    # Signed for 30 seconds from the moment Bob asked (moto accepts any URL, expired or
    # not, so what is checked is what the URL says).
    assert query["X-Amz-Expires"] == "30"
    assert query["X-Amz-Date"] == asked_at.strftime("%Y%m%dT%H%M%SZ")
    assert query["X-Amz-Signature"] and query["X-Amz-Algorithm"] == "AWS4-HMAC-SHA256"

    fetched = httpx.get(response["Location"])

    assert fetched.status_code == 200
    assert fetched.content == on_s3.get_object(Bucket=BUCKET, Key=photo.file)["Body"].read()
    assert without_metadata(fetched.content)
    assert fetched.headers["Content-Type"] == "image/jpeg"
    assert fetched.headers["Content-Disposition"] == (
        "inline; filename*=utf-8''Zelt%20%E2%80%93%20Riss.jpg"
    )


def test_on_s3_a_pdf_is_redirected_as_a_download(on_s3, settings, posted, client_for):
    settings.ORDER_MESSAGES_ATTACHMENT_SERVE = "redirect"
    invoice = posted("invoice.pdf", files.pdf())

    fetched = httpx.get(client_for("bob").get(file_url(invoice))["Location"])

    assert fetched.headers["Content-Disposition"] == 'attachment; filename="invoice.pdf"'
    assert fetched.headers["Content-Type"] == "application/pdf"
    assert fetched.content == files.pdf()


def test_on_s3_the_thumbnail_is_streamed_for_the_pages_own_policy(
    on_s3, settings, posted, client_for
):
    """Thumbnails are shown in the shop's pages, whose Content-Security-Policy allows
    images from the shop only: even in "redirect" mode they come from the shop."""
    settings.ORDER_MESSAGES_ATTACHMENT_SERVE = "redirect"
    photo = posted(PHOTO_NAME, files.phone_photo())

    response = client_for("bob").get(file_url(photo, thumbnail=True))

    assert response.status_code == 200 and response["Content-Type"] == "image/webp"
    assert Image.open(io.BytesIO(b"".join(response.streaming_content))).format == "WEBP"


@pytest.mark.parametrize("serve", ["django", "redirect"])
def test_on_s3_someone_else_gets_404_and_no_url(on_s3, settings, posted, client_for, serve):
    settings.ORDER_MESSAGES_ATTACHMENT_SERVE = serve
    photo = posted(PHOTO_NAME, files.phone_photo())

    for path in (file_url(photo), file_url(photo, thumbnail=True)):
        response = client_for("carol").get(path)
        assert response.status_code == 404
        assert "Location" not in response
        assert BUCKET.encode() not in response.content and b"X-Amz" not in response.content


def test_on_s3_a_discarded_upload_leaves_the_bucket(
    on_s3, access_as, django_capture_on_commit_callbacks
):
    access = access_as("alice", "1002")
    upload = actions.upload_attachment(
        order_number="1002",
        vendor_key="bobs-bikes",
        actor=access.actor_in(access.sub_order("bobs-bikes")),
        name="tent.jpg",
        content=files.phone_photo(),
    )
    keys = {upload.file, upload.thumbnail}
    listed = on_s3.list_objects_v2(Bucket=BUCKET)["Contents"]
    assert keys <= {o["Key"] for o in listed}

    with django_capture_on_commit_callbacks(execute=True):
        assert actions.discard_upload(attachment=upload)

    listed = on_s3.list_objects_v2(Bucket=BUCKET).get("Contents", [])
    assert not keys & {o["Key"] for o in listed}


# -- the local storage, handed to the web server ------------------------------------------------


def test_x_accel_redirect_names_the_file_for_nginx(settings, posted, client_for):
    settings.ORDER_MESSAGES_ATTACHMENT_SERVE = "x-accel-redirect"
    settings.ORDER_MESSAGES_ATTACHMENT_ACCEL_PREFIX = "/protected/"
    photo = posted(PHOTO_NAME, files.phone_photo())

    response = client_for("bob").get(file_url(photo))

    assert response.status_code == 200
    assert response["X-Accel-Redirect"] == f"/protected/{photo.file}"
    assert response.content == b""
    assert response["Content-Type"] == "image/jpeg"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Disposition"].startswith("inline; ")
    assert "sandbox" in response["Content-Security-Policy"]
    assert response["Cache-Control"].startswith("private")


def test_x_sendfile_names_the_absolute_path_for_apache(settings, posted, client_for):
    settings.ORDER_MESSAGES_ATTACHMENT_SERVE = "x-sendfile"
    invoice = posted("invoice.pdf", files.pdf())

    response = client_for("bob").get(file_url(invoice))

    assert response.status_code == 200
    path = response["X-Sendfile"]
    assert os.path.isabs(path) and path == default_storage.path(invoice.file)
    with open(path, "rb") as stored:
        assert stored.read() == files.pdf()
    assert response.content == b""
    assert response["Content-Disposition"] == 'attachment; filename="invoice.pdf"'
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in response["Content-Security-Policy"]


@pytest.mark.parametrize("serve", ["x-accel-redirect", "x-sendfile"])
def test_the_web_server_is_told_nothing_for_someone_else(settings, posted, client_for, serve):
    settings.ORDER_MESSAGES_ATTACHMENT_SERVE = serve
    photo = posted(PHOTO_NAME, files.phone_photo())

    response = client_for("carol").get(file_url(photo))

    assert response.status_code == 404
    assert "X-Accel-Redirect" not in response and "X-Sendfile" not in response


def test_streamed_from_disk_images_show_and_pdfs_download(settings, posted, client_for):
    settings.ORDER_MESSAGES_ATTACHMENT_SERVE = "django"
    photo = posted(PHOTO_NAME, files.phone_photo())
    invoice = posted("invoice.pdf", files.pdf())
    bob = client_for("bob")

    shown, thumbnail, downloaded = (
        bob.get(file_url(photo)),
        bob.get(file_url(photo, thumbnail=True)),
        bob.get(file_url(invoice)),
    )

    assert shown["Content-Disposition"].startswith("inline; ")
    assert thumbnail["Content-Disposition"].startswith("inline; ")
    assert thumbnail["Content-Type"] == "image/webp"
    assert downloaded["Content-Disposition"] == 'attachment; filename="invoice.pdf"'
    assert downloaded["Content-Type"] == "application/pdf"
    with default_storage.open(photo.file) as stored:
        assert body_of(shown) == stored.read()
    assert body_of(downloaded) == files.pdf()
    body_of(thumbnail)
    for response in (shown, thumbnail, downloaded):
        assert response["Cache-Control"] == "private, max-age=3600"
        assert response["X-Content-Type-Options"] == "nosniff"


# -- the system check ---------------------------------------------------------------------------


def test_the_demo_settings_pass_the_attachment_check():
    assert check_attachment_settings(None) == []


def test_an_unknown_way_to_serve_fails_the_check(settings):
    settings.ORDER_MESSAGES_ATTACHMENT_SERVE = "nginx"

    (error,) = check_attachment_settings(None)

    assert isinstance(error, Error) and error.id == "order_messages.E004"
    assert "'nginx'" in error.msg and "'x-accel-redirect'" in error.hint


def test_a_storage_that_is_not_configured_fails_the_check(settings):
    settings.ORDER_MESSAGES_ATTACHMENT_STORAGE = "attachments"

    (error,) = check_attachment_settings(None)

    assert error.id == "order_messages.E005"
    assert "'attachments'" in error.msg and "default" in error.hint


def test_a_storage_that_cannot_be_created_fails_the_check(settings):
    settings.STORAGES = {
        **settings.STORAGES,
        "attachments": {"BACKEND": "storages.backends.nowhere.Storage"},
    }
    settings.ORDER_MESSAGES_ATTACHMENT_STORAGE = "attachments"

    (error,) = check_attachment_settings(None)

    assert error.id == "order_messages.E005" and "cannot be created" in error.msg


def test_x_sendfile_needs_files_on_the_web_servers_disk(settings):
    settings.ORDER_MESSAGES_ATTACHMENT_SERVE = "x-sendfile"
    assert check_attachment_settings(None) == []

    settings.STORAGES = {**settings.STORAGES, "attachments": s3_storage("http://127.0.0.1:9")}
    settings.ORDER_MESSAGES_ATTACHMENT_STORAGE = "attachments"
    (error,) = check_attachment_settings(None)

    assert error.id == "order_messages.E006"
    assert "S3Storage" in error.msg and "'redirect'" in error.hint


def test_a_redirect_needs_signed_expiring_urls(settings):
    settings.ORDER_MESSAGES_ATTACHMENT_SERVE = "redirect"
    (error,) = check_attachment_settings(None)  # the local FileSystemStorage
    assert error.id == "order_messages.E007"
    assert "FileSystemStorage" in error.msg and "expiring" in error.msg
    assert "S3Storage" in error.hint and "'x-accel-redirect'" in error.hint

    settings.ORDER_MESSAGES_ATTACHMENT_STORAGE = "attachments"
    settings.STORAGES = {**settings.STORAGES, "attachments": s3_storage("http://127.0.0.1:9")}
    assert check_attachment_settings(None) == []

    for options, why in [
        ({"querystring_auth": False}, "querystring_auth is off"),
        ({"custom_domain": "files.shop.example"}, "custom_domain"),
    ]:
        settings.STORAGES = {
            **settings.STORAGES,
            "attachments": s3_storage("http://127.0.0.1:9", **options),
        }
        (error,) = check_attachment_settings(None)
        assert error.id == "order_messages.E007" and why in error.msg


# The checks may ask the database what it supports (JSONField).
@pytest.mark.django_db
def test_manage_py_check_reports_the_attachment_settings(settings):
    settings.ORDER_MESSAGES_ATTACHMENT_SERVE = "redirect"

    with pytest.raises(SystemCheckError, match="order_messages.E007"):
        call_command("check")
