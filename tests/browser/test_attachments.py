"""Evidence in a real browser: alice attaches a phone photo (with GPS in its EXIF) to a
dispute, bob sees its thumbnail, opens it and downloads a copy without EXIF; carol and a
stranger get 404 for it; bob's e-mail links to it."""

import io
import re

import pytest
from PIL import Image

from tests import files
from tests.conftest import deliver_notifications

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

THREAD = "/messages/orders/1001/bobs-bikes/"
REASON = "The helmet arrived with a cracked shell, see the photo."


def photo_file(name="IMG_0412.JPG"):
    return {
        "name": name,
        "mimeType": "image/jpeg",
        "buffer": files.phone_photo(width=800, height=600),
    }


def test_a_photo_as_evidence(
    transactional_db, demo, post, page_for, browser, live_server, screenshot, mailoutbox
):
    from playwright.sync_api import expect

    from order_messages.models import Attachment, Message

    # -- alice asked Bob first; now she opens a dispute with a photo ---------------------
    post("alice", "1001", "bobs-bikes", "The helmet I got is not the one I ordered.")
    alice = page_for("alice")
    alice.goto(THREAD)
    alice.get_by_role("link", name="Open dispute").click()
    dialog = alice.get_by_role("dialog", name="Open dispute")
    expect(dialog).to_be_visible()
    # A photo attached, then Cancel: the upload is removed with the dialog.
    dialog.get_by_label("Attach files").set_input_files(photo_file("wrong.jpg"))
    expect(dialog.get_by_role("button", name="Remove wrong.jpg")).to_be_visible()
    expect(dialog.get_by_role("status")).to_have_text("wrong.jpg is attached.")
    dialog.get_by_role("button", name="Cancel").click()
    expect(dialog).to_be_hidden()
    wrong = Attachment.objects.get(name="wrong.jpg")
    for _ in range(50):
        wrong.refresh_from_db()
        if wrong.discarded_at:
            break
        alice.wait_for_timeout(100)
    assert wrong.discarded_at and wrong.message is None

    alice.get_by_role("link", name="Open dispute").click()
    expect(dialog).to_be_visible()
    expect(dialog.locator(".om-attach__item")).to_have_count(0)
    dialog.get_by_role("textbox", name="Reason").fill(REASON)
    dialog.get_by_label("Attach files").set_input_files(photo_file())
    remove = dialog.get_by_role("button", name="Remove IMG_0412.JPG")
    expect(remove).to_be_visible()  # uploaded: listed with its preview and a remove button
    expect(dialog.locator(".om-attach__preview")).to_have_count(1)
    screenshot(alice, "alice-dispute-with-photo")
    dialog.get_by_role("button", name="Open dispute").click()
    expect(alice.locator(".om-dispute-banner")).to_be_visible()
    thumbnail = alice.locator("#thread").get_by_role("img", name="IMG_0412.JPG")
    expect(thumbnail).to_be_visible()
    screenshot(alice, "alice-dispute-opened")

    event = Message.objects.get(
        conversation__order_number="1001",
        conversation__vendor_key="bobs-bikes",
        kind=Message.Kind.DISPUTE_OPENED,
    )
    (attachment,) = event.attachments.all()
    file_url = f"/messages/files/{attachment.pk}/"

    # -- in the composer: two files, one removed before sending -------------------------
    composer = alice.locator("form.om-composer")
    composer.get_by_label("Attach files").set_input_files(
        [
            photo_file("first.jpg"),
            {"name": "label.pdf", "mimeType": "application/pdf", "buffer": files.pdf()},
        ]
    )
    expect(composer.get_by_role("button", name="Remove label.pdf")).to_be_visible()
    expect(composer.get_by_role("button", name="Remove first.jpg")).to_be_visible()
    composer.get_by_role("button", name="Remove first.jpg").click()
    expect(composer.get_by_role("button", name="Remove first.jpg")).to_have_count(0)
    alice.get_by_role("textbox", name="Your message").fill("And the delivery note.")
    alice.get_by_role("button", name="Send").click()
    expect(alice.locator("#thread .om-file--document").filter(has_text="label.pdf")).to_be_visible()
    assert Attachment.objects.get(name="first.jpg").discarded_at

    # -- bob sees the thumbnail and opens the photo with the keyboard -----------------------
    bob = page_for("bob")
    bob.goto(THREAD)
    link = bob.locator("#thread a[data-lightbox]")
    expect(link.get_by_role("img", name="IMG_0412.JPG")).to_be_visible()
    link.focus()
    bob.keyboard.press("Enter")
    lightbox = bob.get_by_role("dialog", name="IMG_0412.JPG")
    expect(lightbox).to_be_visible()
    expect(lightbox.get_by_role("img", name="IMG_0412.JPG")).to_be_visible()
    assert bob.evaluate("document.querySelector('#om-lightbox img').naturalWidth") == 600
    screenshot(bob, "bob-lightbox")
    with bob.expect_download() as download:
        lightbox.get_by_role("link", name="Download").click()
    downloaded = open(download.value.path(), "rb").read()
    image = Image.open(io.BytesIO(downloaded))
    assert image.size == (600, 800)  # turned upright, as the phone was held
    assert len(image.getexif()) == 0 and b"PhoneMaker" not in downloaded
    bob.keyboard.press("Escape")
    expect(lightbox).to_be_hidden()

    # -- on a phone ---------------------------------------------------------------------------
    phone = browser.new_context(
        base_url=live_server.url,
        viewport={"width": 390, "height": 844},
        storage_state=bob.context.storage_state(),
    )
    small = phone.new_page()
    small.goto(THREAD)
    expect(small.locator("#thread a[data-lightbox]")).to_be_visible()
    assert small.evaluate("document.documentElement.scrollWidth") <= 390
    # A long file name waiting in the composer does not widen the page either.
    small.locator("form.om-composer").get_by_label("Attach files").set_input_files(
        photo_file("IMG_20261201_093000_taken_with_the_wide_angle_lens_of_the_phone.jpg")
    )
    expect(small.locator("form.om-composer .om-attach__remove")).to_have_count(1)
    assert small.evaluate("document.documentElement.scrollWidth") <= 390
    screenshot(small, "bob-phone")
    phone.close()

    # -- carol and a stranger get 404 -----------------------------------------------------
    carol = page_for("carol")
    assert carol.goto(file_url).status == 404
    stranger = browser.new_context(base_url=live_server.url)
    assert stranger.new_page().goto(file_url).status == 404
    stranger.close()

    # -- bob's e-mail links to the photo --------------------------------------------------------
    deliver_notifications()
    to_bob = [m for m in mailoutbox if "bob@bobs-bikes.example" in m.to]
    assert to_bob, [(m.to, m.subject) for m in mailoutbox]
    text = "\n".join(m.body for m in to_bob)
    assert "IMG_0412.JPG" in text
    links = re.findall(r"https?://\S+/messages/files/mail/[^/\s]+/", text)
    assert links, text
    assert not any(m.attachments for m in to_bob)
    path = re.sub(r"^https?://[^/]+", "", links[0])
    response = bob.goto(live_server.url + path)
    assert response.status == 200 and response.headers["content-type"] == "image/jpeg"
    assert carol.goto(live_server.url + path).status == 404
