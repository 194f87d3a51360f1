"""The seed story (SPEC section 4) in a real browser: Alice asks Bob's Bikes about her
mixed order #1001, Bob answers, Alice opens a dispute and closes it again."""

import re

import pytest

from tests.conftest import deliver_notifications

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ALICE_ASKS = "Hello Bob, the helmet in order 1001 has not arrived yet. Any news?"
BOB_ANSWERS = "Hi Alice, it left our workshop today; you should have it on Friday."
REASON = "The helmet arrived with a cracked shell."
TIMEOUT = 10_000


def header_count(page):
    return page.get_by_test_id("messages-icon").get_by_test_id("unread-count")


def test_seed_story(transactional_db, demo, page_for, screenshot, mailoutbox):
    from playwright.sync_api import expect

    from order_messages.models import Conversation, Dispute, Message

    # -- Alice asks Bob's Bikes about her mixed order ------------------------------------
    alice = page_for("alice")
    alice.get_by_role("navigation", name="Main").get_by_role("link", name="My orders").click()
    expect(alice.get_by_role("heading", name="My orders", level=1)).to_be_visible()
    row = alice.locator("tr[data-order='1001']")
    screenshot(alice, "alice-my-orders")
    # Three sellers on the order: "Contact a seller" asks which one.
    row.get_by_text("Contact a seller").click()
    expect(row.get_by_text("Which seller is your question for?")).to_be_visible()
    row.get_by_role("link", name="Contact Bob's Bikes").click()

    expect(alice.get_by_role("heading", name="Messages about order #1001")).to_be_visible()
    tabs = alice.get_by_role("navigation", name="Conversations about this order")
    tabs.get_by_role("link", name="Bob's Bikes").click()
    expect(alice).to_have_url(re.compile(r"/messages/orders/1001/bobs-bikes/$"))
    expect(tabs.get_by_role("link", name="Bob's Bikes")).to_have_attribute("aria-current", "page")
    thread = alice.locator("#thread")
    alice.get_by_role("textbox", name="Your message").fill(ALICE_ASKS)
    alice.get_by_role("button", name="Send").click()
    expect(thread.locator(".om-msg").filter(has_text=ALICE_ASKS)).to_be_visible()
    expect(alice.get_by_role("textbox", name="Your message")).to_have_value("")
    screenshot(alice, "alice-sent")
    # She browses on; (re)loading the thread itself would mark Bob's answer read.
    alice.get_by_role("navigation", name="Main").get_by_role("link", name="Shop").click()
    expect(header_count(alice)).to_have_count(0)

    # -- Bob sees one unread message and answers ------------------------------------------
    bob = page_for("bob")
    expect(header_count(bob)).to_have_text("1")
    screenshot(bob, "bob-unread-badge")
    bob.get_by_test_id("messages-icon").click()
    expect(bob.get_by_role("heading", name="Messages", level=1)).to_be_visible()
    screenshot(bob, "bob-inbox")
    bob.get_by_role("link", name=re.compile(r"Order #1001")).click()
    expect(bob.locator("#thread .om-msg").filter(has_text=ALICE_ASKS)).to_be_visible()
    screenshot(bob, "bob-thread")
    bob.get_by_role("textbox", name="Your message").fill(BOB_ANSWERS)
    bob.get_by_role("button", name="Send").click()
    expect(bob.locator("#thread .om-msg").filter(has_text=BOB_ANSWERS)).to_be_visible()
    bob.reload()
    expect(bob.locator("#thread .om-msg").filter(has_text=BOB_ANSWERS)).to_be_visible()
    expect(header_count(bob)).to_have_count(0)

    # -- Alice sees the answer -------------------------------------------------------------
    alice.reload()
    expect(header_count(alice)).to_have_text("1")
    screenshot(alice, "alice-unread-badge")
    alice.get_by_role("navigation", name="Main").get_by_role("link", name="My orders").click()
    unread_link = row.get_by_role("link", name="1 unread message")
    expect(unread_link).to_be_visible()
    screenshot(alice, "alice-my-orders-unread")
    unread_link.click()
    expect(alice).to_have_url(re.compile(r"/messages/orders/1001/bobs-bikes/$"))
    expect(thread.locator(".om-msg").filter(has_text=BOB_ANSWERS)).to_be_visible()
    expect(thread.get_by_role("separator")).to_contain_text("New messages")
    expect(header_count(alice)).to_have_count(0)
    screenshot(alice, "alice-reads-answer")

    # -- Alice opens a dispute ----------------------------------------------------------------
    alice.get_by_role("link", name="Open dispute").click()
    dialog = alice.get_by_role("dialog", name="Open dispute")
    expect(dialog).to_be_visible()
    reason = dialog.get_by_label("Reason")
    expect(reason).to_be_visible()
    screenshot(alice, "alice-dispute-dialog")
    dialog.get_by_role("button", name="Open dispute").click()
    # The browser refuses the empty required field: the pop-up stays, nothing is posted.
    assert reason.evaluate("el => el.validity.valueMissing") is True
    expect(dialog).to_be_visible()
    expect(alice).to_have_url(re.compile(r"/messages/orders/1001/bobs-bikes/$"))
    assert not Dispute.objects.filter(conversation__order_number="1001").exists()

    reason.fill(REASON)
    dialog.get_by_role("button", name="Open dispute").click()
    expect(alice.get_by_text("A dispute has been opened successfully.")).to_be_visible(
        timeout=TIMEOUT
    )
    banner = alice.locator(".om-dispute-banner")
    expect(banner).to_be_visible()
    expect(banner).to_contain_text("Dispute opened on")
    expect(banner).to_contain_text("by Alice")
    expect(thread.locator(".om-msg").filter(has_text=REASON)).to_be_visible()
    screenshot(alice, "alice-dispute-opened")

    # The seller and the store's orders address are told by e-mail (locmem outbox: the
    # live server runs in this process).
    deliver_notifications()
    dispute_mail = [m for m in mailoutbox if "dispute" in m.subject.lower()]
    for address in ("bob@bobs-bikes.example", "orders@marketplace.example"):
        sent = [m for m in dispute_mail if address in m.to]
        assert sent, f"no dispute e-mail to {address}: {[(m.to, m.subject) for m in mailoutbox]}"
        assert all("Order #1001" in m.subject for m in sent)

    # -- Alice closes the dispute ---------------------------------------------------------
    banner.get_by_role("link", name="Close dispute").click()
    confirm = alice.get_by_role("dialog", name="Close dispute")
    expect(confirm).to_be_visible()
    screenshot(alice, "alice-close-dialog")
    confirm.get_by_role("button", name="Close dispute").click()
    expect(banner).to_have_count(0)
    expect(thread.get_by_text("Dispute closed by Alice")).to_be_visible()
    screenshot(alice, "alice-dispute-closed")

    # -- What was stored ----------------------------------------------------------------
    conversation = Conversation.objects.get(order_number="1001", vendor_key="bobs-bikes")
    stored = list(
        Message.objects.filter(conversation=conversation)
        .order_by("seq")
        .values_list("seq", "kind", "author__username", "body")
    )
    assert stored == [
        (1, Message.Kind.MESSAGE, "alice", ALICE_ASKS),
        (2, Message.Kind.MESSAGE, "bob", BOB_ANSWERS),
        (3, Message.Kind.DISPUTE_OPENED, "alice", REASON),
        (4, Message.Kind.DISPUTE_CLOSED, "alice", ""),
    ]
    assert conversation.last_seq == 4
    assert conversation.open_dispute_id is None
    dispute = Dispute.objects.get(conversation=conversation)
    assert (dispute.status, dispute.reason) == (Dispute.Status.CLOSED, REASON)
    assert (
        not Message.objects.filter(conversation__order_number="1001")
        .exclude(conversation=conversation)
        .exists()
    )
