"""Live updates in real browsers (A2): what one person sends appears for the other
without a reload, and the header count follows."""

import time

import pytest

pytestmark = pytest.mark.django_db(transaction=True)

THREAD = "/messages/orders/1002/bobs-bikes/"


def test_a_message_appears_in_the_other_browser_without_reload(demo, live_page_for, screenshot):
    from playwright.sync_api import expect

    alice = live_page_for("alice")
    alice.goto(THREAD)
    bob = live_page_for("bob")
    bob.goto("/messages/")
    badge = bob.get_by_test_id("messages-icon")
    expect(bob.get_by_test_id("unread-count")).to_have_count(0)
    # Both streams are open before anything is sent. (A function, which Playwright evaluates
    # once: it would evaluate a bare expression on every poll, and the pages forbid eval.)
    alice.wait_for_function("() => window.omLiveOpen === true")
    bob.wait_for_function("() => window.omLiveOpen === true")

    # Alice writes; Bob's header count changes while he stays on his page.
    started = time.monotonic()
    alice.get_by_role("textbox", name="Your message").fill("Is the bike assembled?")
    alice.get_by_role("button", name="Send").click()
    expect(bob.get_by_test_id("unread-count")).to_have_text("1", timeout=2000)
    assert time.monotonic() - started < 2.5
    expect(badge).to_be_visible()

    # Bob opens the conversation, Alice keeps hers open; Bob answers and it appears for
    # Alice within two seconds, with no reload of her page.
    bob.goto(THREAD)
    expect(bob.get_by_test_id("unread-count")).to_have_count(0)
    alice.evaluate("window.notReloaded = true")
    alice.get_by_role("textbox", name="Your message").fill("Half-typed draft")
    bob.get_by_role("textbox", name="Your message").fill("Yes, fully assembled and tuned.")
    started = time.monotonic()
    bob.get_by_role("button", name="Send").click()
    expect(alice.locator("#thread")).to_contain_text("Yes, fully assembled", timeout=2000)
    assert time.monotonic() - started < 2.5
    assert alice.evaluate("window.notReloaded") is True
    expect(alice.locator("#thread .om-msg").last).to_be_in_viewport()
    # What she was typing survives the update.
    expect(alice.get_by_role("textbox", name="Your message")).to_have_value("Half-typed draft")
    screenshot(alice, "alice-sees-bob-live")


def test_the_header_count_follows_a_dispute_and_falls_back_to_polling(
    demo, live_page_for, settings
):
    from playwright.sync_api import expect

    bob = live_page_for("bob")
    bob.goto("/messages/")
    bob.wait_for_function("() => window.omLiveOpen === true")
    alice = live_page_for("alice")
    alice.goto(THREAD)
    alice.get_by_role("textbox", name="Your message").fill("Where is my bike?")
    alice.get_by_role("button", name="Send").click()
    expect(bob.get_by_test_id("unread-count")).to_have_text("1", timeout=2000)

    # Without the stream the icon polls the server instead.
    bob.evaluate("window.omLiveOpen = false")
    assert bob.get_by_test_id("messages-icon").get_attribute("hx-trigger").startswith("every ")


def test_the_lists_of_conversations_follow_without_reload(demo, live_page_for, post, screenshot):
    """Bob's back office and Alice's Messages tab show a new message as it comes, without
    a reload; while Bob has rows ticked for a bulk action his list waits, and follows once
    he unticks them."""
    from playwright.sync_api import expect

    bob = live_page_for("bob")
    bob.goto("/messages/")
    alice = live_page_for("alice")
    alice.goto("/messages/")
    orders = live_page_for("alice")
    orders.goto("/orders/")
    for page in (bob, alice, orders):
        page.wait_for_function("() => window.omLiveOpen === true")
        page.evaluate("window.notReloaded = true")

    post("alice", "1002", "bobs-bikes", "Does it come with lights?")
    row = bob.locator("#om-bo-list li", has_text="Does it come with lights?")
    expect(row).to_have_count(1, timeout=3000)
    expect(row).to_have_class("om-inbox__row om-inbox__row--unread")
    assert bob.evaluate("window.notReloaded") is True

    # A row ticked: the list stays as it is, and the bulk buttons with it.
    row.get_by_role("checkbox").check()
    expect(bob.get_by_role("button", name="Mark as read", exact=True)).to_be_enabled()
    post("alice", "1002", "bobs-bikes", "And a bell?")
    bob.wait_for_timeout(1000)
    expect(bob.locator("#om-bo-list")).not_to_contain_text("And a bell?")
    expect(row.get_by_role("checkbox")).to_be_checked()
    # Unticked, it follows; the buttons wait for a selection again.
    row.get_by_role("checkbox").uncheck()
    expect(bob.locator("#om-bo-list")).to_contain_text("And a bell?", timeout=3000)
    expect(bob.get_by_role("button", name="Mark as read", exact=True)).to_be_disabled()
    assert bob.evaluate("window.notReloaded") is True
    screenshot(bob, "bob-back-office-live")

    # Bob answers; Alice's Messages tab shows it, unread, and her orders say so, without
    # a reload. An open "Contact seller" menu keeps the orders as they are until closed.
    menu = orders.locator("tr[data-order='1001'] details")
    menu.locator("summary").click()
    post("bob", "1002", "bobs-bikes", "Lights yes, bell no.")
    mine = alice.locator(".om-inbox li", has_text="Lights yes, bell no.")
    expect(mine).to_have_count(1, timeout=3000)
    expect(mine).to_contain_text("1 unread")
    assert alice.evaluate("window.notReloaded") is True
    screenshot(alice, "alice-messages-tab-live")
    order = orders.locator("tr[data-order='1002']")
    orders.wait_for_timeout(1000)
    expect(order).not_to_contain_text("1 unread message")
    menu.locator("summary").click()
    expect(order).to_contain_text("1 unread message", timeout=3000)
    assert orders.evaluate("window.notReloaded") is True


def test_store_staff_follow_conversations_they_take_no_part_in(demo, live_page_for, post):
    """The store's staff see a customer's message to a vendor arrive in their back office,
    and in the conversation they have open, though they have never written in it."""
    from playwright.sync_api import expect

    listing = live_page_for("admin")
    listing.goto("/messages/")
    thread = live_page_for("admin")
    thread.goto(THREAD)
    for page in (listing, thread):
        page.wait_for_function("() => window.omLiveOpen === true")
        page.evaluate("window.notReloaded = true")

    post("alice", "1002", "bobs-bikes", "Is the saddle adjustable?")

    expect(listing.locator("#om-bo-list li", has_text="Is the saddle adjustable?")).to_have_count(
        1, timeout=3000
    )
    expect(thread.locator("#thread")).to_contain_text("Is the saddle adjustable?", timeout=3000)
    assert listing.evaluate("window.notReloaded") is True
    assert thread.evaluate("window.notReloaded") is True


def test_the_dispute_history_beside_a_conversation_follows(demo, live_page_for, post, dispute):
    """Bob has the conversation open while Alice opens a dispute and withdraws it: the
    banner and the history beside the conversation follow, without a reload."""
    from playwright.sync_api import expect

    post("alice", "1002", "bobs-bikes", "The bell is missing.")
    bob = live_page_for("bob")
    bob.goto(THREAD)
    bob.wait_for_function("() => window.omLiveOpen === true")
    bob.evaluate("window.notReloaded = true")

    dispute.open("alice", "1002", "bobs-bikes", "No bell in the box.")
    history = bob.locator(".om-history")
    expect(history).to_contain_text("Open", timeout=5000)
    # The card starts with its heading, with no band above it.
    gap = "s => s.querySelector('h2').getBoundingClientRect().top - s.getBoundingClientRect().top"
    assert history.evaluate(gap) < 16
    expect(bob.locator(".om-dispute-banner")).to_be_visible()

    dispute.close("alice", "1002", "bobs-bikes")
    expect(history.locator("li").first).to_contain_text("Withdrawn", timeout=5000)
    expect(history.locator("li").first).to_contain_text("Closed on")
    expect(bob.locator(".om-dispute-banner")).to_have_count(0)
    assert bob.evaluate("window.notReloaded") is True
