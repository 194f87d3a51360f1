"""Finding one's way as each role: a customer asked which seller an order's question is
for, the Orders and Messages tabs of My orders, and the navigation of a vendor, who finds
an order of theirs and writes to its customer."""

import re

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CAROL_ASKS = "Hello, does the bike lock come with two keys?"
BOB_WRITES = "Hi Alice, the helmet comes in black or white: which one would you like?"


def test_a_mixed_order_asks_which_seller_by_keyboard(demo, page_for, screenshot):
    """Carol's #1005 is from Dave's Outdoor and Bob's Bikes: her question about Bob's item
    goes to Bob alone, chosen without a mouse."""
    from playwright.sync_api import expect

    from order_messages.models import Conversation

    carol = page_for("carol")
    carol.goto("/orders/")
    row = carol.locator("tr[data-order='1005']")
    expect(row.get_by_role("link", name="Contact seller", exact=True)).to_have_count(0)
    choice = row.locator("summary", has_text="Contact a seller")
    choice.focus()
    carol.keyboard.press("Enter")
    expect(row.get_by_text("Which seller is your question for?")).to_be_visible()
    sellers = row.get_by_role("list", name="Which seller is your question for?")
    expect(sellers.get_by_role("link")).to_have_text(
        ["Contact Dave's Outdoor", "Contact Bob's Bikes"]
    )
    screenshot(carol, "which-seller")
    carol.keyboard.press("Tab")
    expect(sellers.get_by_role("link", name="Contact Dave's Outdoor")).to_be_focused()
    carol.keyboard.press("Tab")
    expect(sellers.get_by_role("link", name="Contact Bob's Bikes")).to_be_focused()
    carol.keyboard.press("Enter")

    expect(carol).to_have_url(re.compile(r"/messages/orders/1005/bobs-bikes/$"))
    carol.get_by_role("textbox", name="Your message").fill(CAROL_ASKS)
    carol.get_by_role("button", name="Send").click()
    expect(carol.locator("#thread .om-msg").filter(has_text=CAROL_ASKS)).to_be_visible()
    found = Conversation.objects.filter(order_number="1005").values_list("vendor_key", flat=True)
    assert list(found) == ["bobs-bikes"]


def test_a_single_sellers_order_is_one_click_and_shows_its_unread_count(demo, post, page_for):
    from playwright.sync_api import expect

    post("dave", "1003", "daves-outdoor", "Your sleeping bags left today.")
    alice = page_for("alice")
    alice.goto("/orders/")
    row = alice.locator("tr[data-order='1003']")

    expect(row.get_by_role("link", name="Contact seller", exact=True)).to_be_visible()
    expect(row.get_by_role("link", name="1 unread message")).to_be_visible()
    row.get_by_role("link", name="Contact seller", exact=True).click()
    expect(alice).to_have_url(re.compile(r"/messages/orders/1003/daves-outdoor/$"))


def test_the_messages_tab_keeps_the_orders_tab(demo, page_for):
    from playwright.sync_api import expect

    alice = page_for("alice")
    alice.goto("/orders/")
    tabs = alice.get_by_role("navigation", name="My orders")
    tabs.get_by_role("link", name="Messages").click()

    expect(alice.get_by_role("heading", name="Messages", level=1)).to_be_visible()
    tabs = alice.get_by_role("navigation", name="My orders")
    expect(tabs.get_by_role("link", name="Messages")).to_have_attribute("aria-current", "page")
    tabs.get_by_role("link", name="Orders").click()
    expect(alice.get_by_role("heading", name="My orders", level=1)).to_be_visible()


def test_a_vendor_finds_an_order_and_writes_to_its_customer(demo, page_for, screenshot):
    from playwright.sync_api import expect

    from order_messages.models import Conversation

    bob = page_for("bob")
    main = bob.get_by_role("navigation", name="Main")
    expect(main.get_by_role("link")).to_have_text(["Shop", "Conversations", "Orders", "Dashboard"])
    expect(main.get_by_role("link", name="My orders")).to_have_count(0)

    main.get_by_role("link", name="Orders").click()
    expect(bob.get_by_role("heading", name="Orders", level=1)).to_be_visible()
    back_office = bob.get_by_role("navigation", name="Back office")
    expect(back_office.get_by_role("link", name="Orders")).to_have_attribute("aria-current", "page")
    orders = bob.locator("li.om-bo-order")
    expect(orders).to_have_count(3)  # #1001, #1002, #1005: those with Bob's items
    expect(bob.locator("li.om-bo-order[data-order='1003']")).to_have_count(0)
    screenshot(bob, "vendor-orders")
    bob.get_by_role("link", name="Write to the customer about order #1001 (Bob's Bikes)").click()

    expect(bob).to_have_url(re.compile(r"/messages/orders/1001/bobs-bikes/$"))
    expect(bob.get_by_role("link", name="Open dispute")).to_have_count(0)
    bob.get_by_role("textbox", name="Your message").fill(BOB_WRITES)
    bob.get_by_role("button", name="Send").click()
    expect(bob.locator("#thread .om-msg").filter(has_text=BOB_WRITES)).to_be_visible()
    started = Conversation.objects.get(order_number="1001")
    assert (started.vendor_key, started.last_seq) == ("bobs-bikes", 1)

    alice = page_for("alice")
    expect(alice.get_by_test_id("messages-icon").get_by_test_id("unread-count")).to_have_text("1")


def test_the_first_message_sent_makes_open_dispute_a_dialog_at_once(
    demo, no_conversations, page_for
):
    """Before the first message there is no "Open dispute"; once Alice's first message is
    sent from the page, the button it brings opens the dispute dialog, not another page."""
    from playwright.sync_api import expect

    alice = page_for("alice")
    alice.goto("/messages/orders/1002/bobs-bikes/")
    expect(alice.get_by_role("link", name="Open dispute")).to_have_count(0)
    alice.get_by_role("textbox", name="Your message").fill("Where is my bike?")
    alice.get_by_role("button", name="Send").click()
    expect(alice.locator("#thread")).to_contain_text("Where is my bike?")

    alice.get_by_role("link", name="Open dispute").click()
    expect(alice.get_by_role("dialog", name="Open dispute")).to_be_visible()
    assert alice.url.endswith("/messages/orders/1002/bobs-bikes/")


def test_withdrawing_a_dispute_starts_on_cancel(demo, post, dispute, page_for):
    """The customer's "Close dispute" asks for nothing but a confirmation: it opens with
    Cancel focused, so Enter does not withdraw the dispute, and Escape leaves it open."""
    from playwright.sync_api import expect

    post("alice", "1002", "bobs-bikes", "The bell is missing.")
    dispute.open("alice", "1002", "bobs-bikes", "No bell in the box.")
    alice = page_for("alice")
    alice.goto("/messages/orders/1002/bobs-bikes/")
    alice.locator(".om-dispute-banner").get_by_role("link", name="Close dispute").click()
    dialog = alice.get_by_role("dialog", name="Close dispute")
    expect(dialog).to_be_visible()
    expect(dialog.get_by_role("button", name="Cancel")).to_be_focused()
    alice.keyboard.press("Enter")
    expect(dialog).to_be_hidden()
    expect(alice.locator(".om-dispute-banner")).to_be_visible()  # still open
