"""A message counts as read once it was on screen in a visible tab (S3, A2): one that
arrives live while the tab is hidden, or below what the message pane shows, stays unread
until it has been seen, and the header count follows."""

import re

import pytest

from tests.conftest import counter_of, unread_of

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

THREAD = "/messages/orders/1002/bobs-bikes/"

HIDE = """() => {
  Object.defineProperty(document, "visibilityState", { configurable: true, get: () => "hidden" });
  Object.defineProperty(document, "hidden", { configurable: true, get: () => true });
  document.dispatchEvent(new Event("visibilitychange"));
}"""
SHOW = """() => {
  Object.defineProperty(document, "visibilityState", { configurable: true, get: () => "visible" });
  Object.defineProperty(document, "hidden", { configurable: true, get: () => false });
  document.dispatchEvent(new Event("visibilitychange"));
}"""


def test_a_message_arriving_in_a_hidden_tab_stays_unread_until_seen(
    demo, live_page_for, post, screenshot
):
    from playwright.sync_api import expect

    alice = live_page_for("alice")
    alice.goto(THREAD)
    alice.wait_for_function("() => window.omLiveOpen === true")
    alice.evaluate(HIDE)

    post("bob", "1002", "bobs-bikes", "Your bike ships tomorrow.")
    expect(alice.locator("#thread")).to_contain_text("Your bike ships tomorrow.")
    expect(alice.get_by_test_id("unread-count")).to_have_text("1")
    alice.wait_for_timeout(500)  # time enough for a report that should not be sent
    assert unread_of(demo["alice"], "1002", "bobs-bikes") == 1
    expect(alice.locator("#thread .om-divider")).to_be_visible()

    alice.evaluate(SHOW)
    expect(alice.get_by_test_id("unread-count")).to_have_count(0)
    assert unread_of(demo["alice"], "1002", "bobs-bikes") == 0
    assert counter_of(demo["alice"]) == 0
    screenshot(alice, "read-once-visible")


def test_a_message_below_the_visible_pane_stays_unread_until_scrolled_to(demo, live_page_for, post):
    from playwright.sync_api import expect

    for n in range(30):
        post("alice" if n % 2 else "bob", "1002", "bobs-bikes", f"Line {n}\n" * 3)
    alice = live_page_for("alice")
    alice.goto(THREAD)
    alice.wait_for_function("() => window.omLiveOpen === true")
    thread = alice.locator("#thread")
    # The reader scrolls up to an earlier message, away from the newest.
    thread.evaluate("pane => { pane.scrollTop = 0; }")
    alice.wait_for_timeout(200)

    post("bob", "1002", "bobs-bikes", "Your bike ships tomorrow.")
    expect(thread).to_contain_text("Your bike ships tomorrow.")
    newest = alice.locator("#thread .om-msg").last
    expect(newest).not_to_be_in_viewport()
    expect(alice.get_by_test_id("unread-count")).to_have_text("1")
    alice.wait_for_timeout(500)
    assert unread_of(demo["alice"], "1002", "bobs-bikes") == 1

    newest.scroll_into_view_if_needed()
    expect(alice.get_by_test_id("unread-count")).to_have_count(0)
    assert unread_of(demo["alice"], "1002", "bobs-bikes") == 0


def test_a_message_in_another_conversation_of_the_order_shows_on_its_tab(demo, live_page_for, post):
    """Alice reads her mixed order's conversation with Bob's Bikes; Dave writes in the
    one with Dave's Outdoor: its tab counts it at once, and it stays unread."""
    from playwright.sync_api import expect

    alice = live_page_for("alice")
    alice.goto("/messages/orders/1001/bobs-bikes/")
    alice.wait_for_function("() => window.omLiveOpen === true")
    tabs = alice.get_by_role("navigation", name="Conversations about this order")
    dave_tab = tabs.get_by_role("link", name=re.compile("Dave's Outdoor"))
    expect(dave_tab).not_to_contain_text("unread")
    before = unread_of(demo["alice"], "1001", "daves-outdoor") or 0

    post("dave", "1001", "daves-outdoor", "The tent ships on Monday.")

    expect(dave_tab).to_contain_text(f"{before + 1} unread")
    expect(alice.locator("#thread")).not_to_contain_text("The tent ships on Monday.")
    alice.wait_for_timeout(300)
    assert unread_of(demo["alice"], "1001", "daves-outdoor") == before + 1
