"""The app in Oscar's layout as a person sees it on a phone and on a laptop: the header icon
with its count without opening Oscar's menu, and a conversation that opens, on a wide
screen, scrolled to its title with a message pane of several messages, its newest message
and its composer on the first screen."""

import re

import pytest
from django.contrib.auth import get_user_model

from order_messages import actions
from order_messages.models import Conversation
from order_messages.queries import access_order

from .conftest import DESKTOP, LAPTOP, PHONE, SMALL_LAPTOP

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


def long_conversation():
    """Thirty messages in alice's conversation with Bob's Bikes, all read by her."""
    for n in range(1, 31):
        post_as("bob" if n % 2 else "alice", "1001", "bobs-bikes", f"Message {n} about the helmet.")
    alice_user = get_user_model().objects.get(username="alice")
    conversation = Conversation.objects.get(order_number="1001", vendor_key="bobs-bikes")
    actions.mark_read(conversation=conversation, user=alice_user)


# The messages wholly inside the message pane.
MESSAGES_SHOWN = """pane => {
    const box = pane.getBoundingClientRect();
    return Array.from(pane.querySelectorAll(".om-msg")).filter(message => {
        const rect = message.getBoundingClientRect();
        return rect.top >= box.top - 1 && rect.bottom <= box.bottom + 1;
    }).length;
}"""


@pytest.mark.parametrize(
    "viewport, options, least",
    [
        (LAPTOP, {}, 300),
        (LAPTOP, {"reduced_motion": "reduce"}, 300),
        (SMALL_LAPTOP, {}, 300),
        (DESKTOP, {}, 550),
    ],
    ids=["1280x800", "1280x800-reduced-motion", "1366x768", "1920x1080"],
)
def test_a_long_conversation_opens_with_several_messages_the_newest_and_the_composer_on_screen(
    page_for, screenshot, viewport, options, least
):
    from playwright.sync_api import expect

    long_conversation()

    # A wide screen: the window opens at the conversation's block, its title and the
    # sellers' tabs at the top (Oscar's header a scroll up), and the message pane fills the
    # screen under them: several messages, the newest, and the composer, without scrolling.
    alice = page_for("alice", viewport=viewport, **options)
    alice.goto(THREAD)
    # In place at once, not by an animated scroll still under way.
    block_top = alice.evaluate(
        "document.querySelector('.om-oscar-page').getBoundingClientRect().top"
    )
    assert abs(block_top) < 2
    assert alice.evaluate("window.scrollY") > 0
    expect(alice.get_by_role("heading", name="Messages about order #1001")).to_be_in_viewport(
        ratio=1
    )
    expect(
        alice.get_by_role("navigation", name="Conversations about this order")
    ).to_be_in_viewport(ratio=1)
    pane = alice.locator("#thread")
    assert pane.evaluate("pane => pane.clientHeight") >= least
    assert pane.evaluate(MESSAGES_SHOWN) >= 3
    newest = alice.locator("#thread .om-msg").last
    expect(newest).to_contain_text("Message 30 about the helmet.")
    expect(newest).to_be_in_viewport(ratio=1)
    expect(alice.get_by_role("textbox", name="Your message")).to_be_in_viewport(ratio=1)
    expect(alice.get_by_role("button", name="Send")).to_be_in_viewport(ratio=1)
    # The keyboard's focus is left where the browser puts it.
    assert alice.evaluate("document.activeElement === document.body")
    assert sideways_scroll(alice) == 0
    screenshot(alice, "wide")

    # Sending keeps the newest message and the composer on screen (the app scrolls the
    # message sent to the pane's edge, where a fraction of a pixel may be cut off).
    alice.get_by_role("textbox", name="Your message").fill("Thank you, that helps.")
    alice.get_by_role("button", name="Send").click()
    newest = alice.locator("#thread .om-msg").last
    expect(newest).to_contain_text("Thank you, that helps.")
    expect(newest).to_be_in_viewport(ratio=0.95)
    expect(alice.get_by_role("button", name="Send")).to_be_in_viewport(ratio=1)


def test_a_short_conversation_that_fits_under_oscars_header_opens_at_the_top(page_for):
    from playwright.sync_api import expect

    post_as("bob", "1001", "bobs-bikes", "Your helmet ships today.")
    alice = page_for("alice", viewport=DESKTOP)
    alice.goto(THREAD)
    expect(alice.get_by_role("button", name="Send")).to_be_in_viewport(ratio=1)
    expect(alice.get_by_test_id("messages-icon")).to_be_in_viewport(ratio=1)
    assert alice.evaluate("window.scrollY") == 0


def test_a_link_to_a_part_of_the_conversation_is_the_browsers_to_follow(page_for):
    long_conversation()
    alice = page_for("alice", viewport=LAPTOP)
    # The page's link to its message pane (as "N earlier messages" without JavaScript): the
    # window is where the browser takes it, the pane at the top of the screen as far as the
    # page scrolls, not at the conversation's block above it.
    alice.goto(THREAD + "#thread")
    alice.wait_for_function(
        """() => {
            const pane = document.getElementById("thread").getBoundingClientRect().top + scrollY;
            const most = document.scrollingElement.scrollHeight - innerHeight;
            return Math.abs(scrollY - Math.min(pane, most)) < 2;
        }"""
    )
    block_top = alice.evaluate(
        "document.querySelector('.om-oscar-page').getBoundingClientRect().top"
    )
    assert block_top < -2


def test_on_a_phone_the_page_scrolls_down_to_the_composer_and_not_sideways(page_for, screenshot):
    from playwright.sync_api import expect

    long_conversation()
    phone = page_for("alice", viewport=PHONE)
    phone.goto(THREAD)
    # The page opens at its top, Oscar's header and all: the pane is the page's to scroll.
    assert phone.evaluate("window.scrollY") == 0
    assert sideways_scroll(phone) == 0
    newest = phone.locator("#thread .om-msg").last
    expect(newest).to_contain_text("Message 30 about the helmet.")
    textbox = phone.get_by_role("textbox", name="Your message")
    textbox.fill("Thank you, that helps.")
    send = phone.get_by_role("button", name="Send")
    send.scroll_into_view_if_needed()
    expect(send).to_be_in_viewport(ratio=1)
    assert sideways_scroll(phone) == 0
    screenshot(phone, "phone")
    send.click()
    expect(phone.locator("#thread .om-msg").last).to_contain_text("Thank you, that helps.")
    assert sideways_scroll(phone) == 0


def test_on_a_small_tablet_upright_the_conversation_comes_first_and_whole(page_for, screenshot):
    from playwright.sync_api import expect

    long_conversation()
    # An iPad mini upright: 744px, where Oscar's container is 540px wide.
    tablet = page_for("alice", viewport={"width": 744, "height": 1133})
    tablet.goto(THREAD)
    assert sideways_scroll(tablet) == 0
    expect(tablet.get_by_role("link", name="Open dispute")).to_be_in_viewport(ratio=1)
    expect(tablet.get_by_role("button", name="Send")).to_be_in_viewport(ratio=1)
    newest = tablet.locator("#thread .om-msg").last
    expect(newest).to_contain_text("Message 30 about the helmet.")
    expect(newest).to_be_in_viewport(ratio=1)
    # The items are under the conversation, not squeezed beside it.
    items, conversation = tablet.locator(".om-layout > *").first, tablet.locator(".om-main")
    assert items.bounding_box()["y"] > conversation.bounding_box()["y"]
    screenshot(tablet, "small-tablet")
