"""What is accepted as an attachment, and the clean copy that is stored."""

import io

import pytest
from PIL import Image

from order_messages.attachments.files import clean_name, inspect_upload, sniff
from order_messages.errors import AttachmentRefused, AttachmentTooLarge

from . import files


def test_a_phone_photo_is_stored_turned_upright_without_exif_or_gps():
    clean = inspect_upload(name="IMG_0001.JPG", content=files.phone_photo(width=400, height=300))
    stored = Image.open(io.BytesIO(clean.content))
    assert stored.format == "JPEG" and clean.content_type == "image/jpeg"
    # Orientation 6: the camera's 400 × 300 pixels are shown 300 wide, 400 high.
    assert stored.size == (300, 400) == (clean.width, clean.height)
    assert len(stored.getexif()) == 0
    assert "exif" not in stored.info and b"Exif" not in clean.content
    assert b"PhoneMaker" not in clean.content
    assert b"Taken at home" not in clean.content and b"xmpmeta" not in clean.content
    thumb = Image.open(io.BytesIO(clean.thumbnail))
    assert thumb.format == "WEBP" and max(thumb.size) <= 480
    assert (clean.thumbnail_width, clean.thumbnail_height) == thumb.size


def test_the_type_comes_from_the_content_not_the_name():
    clean = inspect_upload(name="invoice.txt", content=files.pdf())
    assert clean.content_type == "application/pdf"
    assert clean.name == "invoice.pdf"
    png = inspect_upload(name="photo.jpg", content=files.png())
    assert png.content_type == "image/png" and png.name == "photo.png"


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("page.html", files.HTML, "markup"),
        ("photo.jpg", files.HTML, "markup"),  # a renamed web page
        ("drawing.svg", files.SVG, "markup"),
        ("bomb.zip", files.zip_bomb(), "archives"),
        ("script.sh", b"#!/bin/sh\nrm -rf /\n", "programs"),
        ("notes.txt", b"just some text", "only these types"),
        ("empty.png", b"", "empty"),
        ("active.pdf", files.pdf_with_javascript(), "scripts"),
        ("hidden.pdf", files.pdf_with_compressed_javascript(), "scripts"),
        (
            "polyglot.pdf",
            files.pdf().replace(b"1 0 obj", b"<html><script>x</script>1 0 obj"),
            "web page",
        ),
        ("half.pdf", files.pdf()[:300], "incomplete"),
        ("half.jpg", files.phone_photo(size_hint=1)[:3000], "incomplete"),
        ("huge.png", files.huge_png(), "megapixels"),
        ("big.png", files.huge_png(8000), "8000 × 8000"),
    ],
)
def test_refused_files_say_which_and_why(name, content, reason):
    with pytest.raises(AttachmentRefused) as refused:
        inspect_upload(name=name, content=content)
    message = refused.value.messages[0]
    assert reason in message
    if content:
        assert name in message


def test_an_image_with_something_appended_is_stored_as_the_image_alone():
    clean = inspect_upload(name="cat.gif", content=files.gifar())
    assert clean.content_type == "image/png" and clean.name == "cat.png"
    assert b"PK" not in clean.content[-200:] and b"payload.html" not in clean.content


def test_too_large_files_are_refused_with_the_limit(settings):
    settings.ORDER_MESSAGES_ATTACHMENT_MAX_BYTES = 1000
    with pytest.raises(AttachmentTooLarge) as refused:
        inspect_upload(name="photo.jpg", content=files.phone_photo(size_hint=1))
    assert "photo.jpg" in refused.value.messages[0]
    assert refused.value.code == "too_large"


def test_allowed_types_are_a_setting(settings):
    settings.ORDER_MESSAGES_ATTACHMENT_TYPES = ("image/jpeg",)
    with pytest.raises(AttachmentRefused, match="JPEG"):
        inspect_upload(name="invoice.pdf", content=files.pdf())


@pytest.mark.parametrize(
    "name",
    [
        "../../etc/passwd.jpg",
        "C:\\Users\\a\\photo.jpg",
        "pho\x00to.jpg",
        "x" * 300 + ".jpg",
        "photo\u202egpj.exe",
        "...",
        "",
    ],
)
def test_bad_file_names_are_refused(name):
    with pytest.raises(AttachmentRefused):
        clean_name(name)


def test_sniffing_knows_the_accepted_types():
    assert sniff(files.phone_photo()) == "image/jpeg"
    assert sniff(files.png()) == "image/png"
    assert sniff(files.pdf()) == "application/pdf"
    assert sniff(files.HTML) is None


def test_a_16_bit_grey_image_keeps_its_greys():
    out = io.BytesIO()
    Image.new("I;16", (50, 40), 30000).save(out, "PNG")
    clean = inspect_upload(name="scan.png", content=out.getvalue())
    stored = Image.open(io.BytesIO(clean.content))
    assert stored.mode == "L" and 110 < stored.getpixel((0, 0)) < 125  # 30000 / 256
