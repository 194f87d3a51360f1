"""The app in Oscar's layout as a person sees it on a phone and on a laptop: the header icon
with its count without opening Oscar's menu, and a conversation that opens with its newest
message and its composer on the first screen."""

import re

import pytest
from django.contrib.auth import get_user_model

from order_messages import actions
from order_messages.models import Conversation
from order_messages.queries import access_order

from .conftest import LAPTOP, PHONE

pytestmark = pytest.mark.django_db(transaction=True)

THREAD = "/messages/orders/1001/bobs-bikes/"


def post_as(username, number, vendor_key, body):
    access = access_order(user=get_user_model().objects.get(username=username), order_number=number)
    sub_order = access.sub_order(vendor_key)
    actions.post_message(
        order=access.order, sub_order=sub_order, actor=access.actor_in(sub_order), body=body
    )


def sideways_scroll(page) -> int:
    return page.evaluate("document.documentElement.scrollWidth - window.innerWidth")


@pytest.mark.parametrize("viewport", [PHONE, LAPTOP], ids=["phone", "laptop"])
def test_the_header_icon_shows_the_unread_count_without_opening_the_menu(
    page_for, screenshot, viewport
):
    from playwright.sync_api import expect

    post_as("bob", "1001", "bobs-bikes", "Your helmet ships today.")
    post_as("admin", "1001", "store", "And the bottles tomorrow.")

    alice = page_for("alice", viewport=viewport)
    alice.goto("/")
    icon = alice.get_by_test_id("messages-icon")  # strict: the page has one
    expect(icon).to_be_visible()
    expect(icon).to_be_in_viewport(ratio=1)
    expect(icon.get_by_test_id("unread-count")).to_have_text("2")
    expect(icon).to_have_accessible_name("Messages, 2 unread")
    assert sideways_scroll(alice) == 0
    screenshot(alice, "header")

    # The keyboard reaches it from the top of the page, and it leads to the messages.
    for _ in range(30):
        alice.keyboard.press("Tab")
        if icon.evaluate("icon => icon === document.activeElement"):
            break
    expect(icon).to_be_focused()
    alice.keyboard.press("Enter")
    expect(alice).to_have_url(re.compile(r"/messages/$"))


def test_a_long_conversation_opens_with_its_newest_message_and_the_composer_on_screen(
    page_for, screenshot
):
    from playwright.sync_api import expect

    for n in range(1, 31):
        post_as("bob" if n % 2 else "alice", "1001", "bobs-bikes", f"Message {n} about the helmet.")
    alice_user = get_user_model().objects.get(username="alice")
    conversation = Conversation.objects.get(order_number="1001", vendor_key="bobs-bikes")
    actions.mark_read(conversation=conversation, user=alice_user)

    # A laptop's screen: nothing to scroll to read the newest message and answer it.
    alice = page_for("alice", viewport=LAPTOP)
    alice.goto(THREAD)
    newest = alice.locator("#thread .om-msg").last
    expect(newest).to_contain_text("Message 30 about the helmet.")
    expect(newest).to_be_in_viewport(ratio=1)
    expect(alice.get_by_role("textbox", name="Your message")).to_be_in_viewport(ratio=1)
    expect(alice.get_by_role("button", name="Send")).to_be_in_viewport(ratio=1)
    assert alice.evaluate("window.scrollY") == 0
    screenshot(alice, "laptop")

    # A phone's: the page scrolls down to the composer, and not sideways.
    phone = page_for("alice", viewport=PHONE)
    phone.goto(THREAD)
    textbox = phone.get_by_role("textbox", name="Your message")
    textbox.fill("Thank you, that helps.")
    send = phone.get_by_role("button", name="Send")
    send.scroll_into_view_if_needed()
    expect(send).to_be_in_viewport(ratio=1)
    assert sideways_scroll(phone) == 0
    screenshot(phone, "phone")
    send.click()
    expect(phone.locator("#thread .om-msg").last).to_contain_text("Thank you, that helps.")
