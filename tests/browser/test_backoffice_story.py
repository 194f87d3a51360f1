"""The back office in a real browser (B1, B2): Bob sees only his conversations and answers;
Dave sees none of Bob's; the store administrator finds the open dispute, reads it, closes
it, and the customer hears of it."""

import re

import pytest

from tests.conftest import deliver_notifications

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CAROL_ASKS = "Is the camping stove compatible with standard gas cartridges?"
ALICE_ASKS = "The lights in order 1002 flicker. Is that normal?"
REASON = "The helmet in order 1001 never arrived."
BOB_ANSWERS = "Sorry about that, Alice: I am sending a replacement today."


@pytest.fixture
def conversations(transactional_db, demo, post, dispute):
    post("carol", "1005", "daves-outdoor", CAROL_ASKS)
    post("alice", "1002", "bobs-bikes", ALICE_ASKS)
    post("alice", "1001", "bobs-bikes", "Where is my helmet?")
    dispute.open("alice", "1001", "bobs-bikes", REASON)
    return demo


def test_back_office_story(conversations, page_for, screenshot, mailoutbox):
    from playwright.sync_api import expect

    from order_messages.models import Dispute

    # -- Bob: only Bob's Bikes' conversations, and he answers ---------------------------
    bob = page_for("bob")
    bob.get_by_test_id("messages-icon").click()
    expect(bob.get_by_role("heading", name="Messages", level=1)).to_be_visible()
    rows = bob.locator(".om-bo-list .om-inbox__row")
    expect(rows).to_have_count(2)
    expect(rows.nth(0)).to_contain_text("Order #1001")
    expect(rows.nth(0)).to_contain_text("Dispute")
    expect(rows.nth(1)).to_contain_text("Order #1002")
    expect(bob.locator(".om-bo-list")).not_to_contain_text("1005")
    screenshot(bob, "bob-back-office")

    rows.nth(0).get_by_role("link").click()
    expect(bob).to_have_url(re.compile(r"/messages/orders/1001/bobs-bikes/$"))
    expect(bob.locator(".om-dispute-banner")).to_contain_text("Dispute opened on")
    expect(bob.get_by_role("link", name="Close dispute")).to_have_count(0)  # vendors can't
    bob.get_by_role("textbox", name="Your message").fill(BOB_ANSWERS)
    bob.get_by_role("button", name="Send").click()
    expect(bob.locator("#thread")).to_contain_text(BOB_ANSWERS)
    screenshot(bob, "bob-answers")

    # -- Dave: none of Bob's -------------------------------------------------------------
    dave = page_for("dave")
    dave.get_by_test_id("messages-icon").click()
    dave_rows = dave.locator(".om-bo-list .om-inbox__row")
    # Carol's question, and the seed's: the guest's and the photos of #1007.
    expect(dave_rows).to_have_count(3)
    expect(dave.locator(".om-bo-list")).not_to_contain_text("Order #1001")
    expect(dave.locator(".om-bo-list")).not_to_contain_text("Order #1002")
    response = dave.goto(dave.url.split("/messages/")[0] + "/messages/orders/1001/bobs-bikes/")
    assert response.status == 404

    # -- The store administrator closes the dispute ----------------------------------------
    admin = page_for("admin")
    admin.get_by_test_id("messages-icon").click()
    admin.get_by_role("link", name="Open disputes").click()
    admin_rows = admin.locator(".om-bo-list .om-inbox__row")
    expect(admin_rows).to_have_count(1)
    expect(admin_rows.first).to_contain_text("Order #1001")
    expect(admin_rows.first).to_contain_text("alice@customers.example")
    screenshot(admin, "admin-open-disputes")
    admin_rows.first.get_by_role("link").click()
    expect(admin.locator("#thread")).to_contain_text(REASON)
    expect(admin.locator("#thread")).to_contain_text(BOB_ANSWERS)
    admin.locator(".om-dispute-banner").get_by_role("link", name="Close dispute").click()
    dialog = admin.locator("#close-dispute-dialog")
    expect(dialog).to_be_visible()
    dialog.get_by_label("Outcome").select_option("replaced")
    dialog.get_by_label("Note to the customer").fill("A new helmet is on its way.")
    dialog.get_by_role("button", name="Close dispute").click()
    expect(admin.locator(".om-dispute-banner")).to_have_count(0)
    expect(admin.locator("#thread")).to_contain_text("Dispute closed by Ada Admin")
    expect(admin.locator("#thread")).to_contain_text("Outcome: Replaced")
    screenshot(admin, "admin-closed")

    admin.get_by_role("link", name="Messages").first.click()
    admin.get_by_role("link", name="Open disputes").click()
    expect(admin.get_by_text("No open disputes.")).to_be_visible()

    assert not Dispute.objects.filter(status="open").exists()
    deliver_notifications()
    closed_mail = [m for m in mailoutbox if "dispute resolved" in m.subject]
    assert "alice@customers.example" in {to for m in closed_mail for to in m.to}
