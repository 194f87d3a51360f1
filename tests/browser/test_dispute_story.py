"""A dispute run to its end in a real browser: alice says the tent arrived damaged and
asks for a replacement; everyone sees Dave's deadline; the clock passes it, the dispute
is escalated and the store is told; the administrator resolves it as replaced with a
note; alice reads the outcome; the dashboard shows how fast each seller answers."""

import re
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from tests.conftest import deliver_notifications

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

THREAD = "/messages/orders/1001/daves-outdoor/"
REASON = "The tent pole snapped on the first evening."
NOTE = "A new tent is on its way; keep the old one."


def fits(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def test_dispute_story(demo, post, page_for, screenshot, mailoutbox):
    from playwright.sync_api import expect

    from order_messages import actions
    from order_messages.models import Dispute

    # Some answers to measure: Bob answers Carol within minutes.
    post("alice", "1002", "bobs-bikes", "Do the lights need batteries?")
    post("bob", "1002", "bobs-bikes", "Yes, two AAA, included.")

    # -- alice told Dave first; now she opens the dispute: damaged, she wants a replacement
    post("alice", "1001", "daves-outdoor", "The tent poles arrived bent.")
    alice = page_for("alice")
    alice.goto(THREAD)
    alice.get_by_role("link", name="Open dispute").click()
    dialog = alice.locator("#open-dispute-dialog")
    expect(dialog).to_be_visible()
    dialog.get_by_label("What went wrong?").select_option("damaged")
    dialog.get_by_label("What would you like?").select_option("replacement")
    dialog.get_by_label("Reason").fill(REASON)
    dialog.get_by_role("button", name="Open dispute").click()
    expect(alice.get_by_text("A dispute has been opened successfully.")).to_be_visible()
    banner = alice.locator(".om-dispute-banner")
    expect(banner).to_contain_text("Damaged")
    expect(banner).to_contain_text("replacement")
    expect(banner).to_contain_text(re.compile(r"Dave's Outdoor must answer by \w{3} \d\d:\d\d"))
    screenshot(alice, "alice-opened")

    dispute = Dispute.objects.get(conversation__order_number="1001", status="open")
    assert (dispute.reason_code, dispute.requested) == ("damaged", "replacement")
    deliver_notifications()
    opened = [
        m for m in mailoutbox if "dave@daves-outdoor.example" in m.to and "dispute" in m.subject
    ]
    assert "must answer by" in opened[0].body and "Damaged" in opened[0].body
    mailoutbox.clear()

    # -- the deadline is shown to Dave and to the store -------------------------------------
    dave = page_for("dave")
    dave.goto(THREAD)
    expect(dave.locator(".om-dispute-banner")).to_contain_text("Dave's Outdoor must answer by")
    expect(dave.get_by_role("link", name="Close dispute")).to_have_count(0)
    screenshot(dave, "dave-sees-deadline")

    admin = page_for("admin")
    admin.goto("/messages/?show=disputes")
    row = admin.locator(".om-bo-list .om-inbox__row").first
    expect(row).to_contain_text("Order #1001")
    expect(row).to_contain_text("answer by")

    # -- the clock passes the deadline: escalated, and the store is told -------------------
    assert actions.escalate_overdue_disputes(now=timezone.now() + timedelta(hours=49)) == 1
    deliver_notifications()
    escalated = [m for m in mailoutbox if "escalated" in m.subject]
    recipients = {to for m in escalated for to in m.to}
    assert {"admin@marketplace.example", "orders@marketplace.example"} <= recipients
    assert "Dave's Outdoor did not answer by" in escalated[0].body

    admin.goto("/messages/")
    first = admin.locator(".om-bo-list .om-inbox__row").first
    expect(first).to_contain_text("Order #1001")
    expect(first).to_contain_text("Escalated")
    screenshot(admin, "admin-escalated-first")

    # -- the administrator resolves it as replaced, with a note ----------------------------
    first.get_by_role("link").click()
    expect(admin.locator("#thread")).to_contain_text("Escalated to the store")
    admin.locator(".om-dispute-banner").get_by_role("link", name="Close dispute").click()
    resolve = admin.locator("#close-dispute-dialog")
    expect(resolve).to_be_visible()
    # What alice asked for is shown beside the outcome, which the administrator picks.
    expect(resolve).to_contain_text("asks for a replacement")
    expect(resolve.get_by_label("Outcome")).to_have_value("")
    resolve.get_by_label("Outcome").select_option("replaced")
    screenshot(admin, "admin-resolve-dialog")
    resolve.get_by_label("Note to the customer").fill(NOTE)
    resolve.get_by_role("button", name="Close dispute").click()
    expect(admin.get_by_text("The dispute has been resolved.")).to_be_visible()
    expect(admin.locator(".om-dispute-banner")).to_have_count(0)
    screenshot(admin, "admin-resolved")

    # -- alice reads the outcome ------------------------------------------------------------
    alice.goto(THREAD)
    thread = alice.locator("#thread")
    expect(thread).to_contain_text("Outcome: Replaced")
    expect(thread).to_contain_text(NOTE)
    expect(alice.locator(".om-dispute-banner")).to_have_count(0)
    alice.set_viewport_size({"width": 390, "height": 844})
    alice.goto(THREAD)
    assert fits(alice)
    screenshot(alice, "alice-outcome-phone")

    deliver_notifications()
    resolved = [m for m in mailoutbox if "dispute resolved" in m.subject]
    assert "alice@customers.example" in {to for m in resolved for to in m.to}
    assert NOTE in resolved[0].body and "Replaced" in resolved[0].body
    assert Dispute.objects.get(pk=dispute.pk).outcome == "replaced"

    # -- how fast each seller answers --------------------------------------------------------
    call_command("roll_up_responses", lag=0, verbosity=0)
    admin.goto("/messages/dashboard/")
    table = admin.get_by_role("table").filter(has_text="Bob's Bikes")
    expect(table).to_contain_text("Dave's Outdoor")
    screenshot(admin, "admin-dashboard")
    table.get_by_role("link", name="Bob's Bikes").click()
    expect(admin.get_by_role("heading", level=1)).to_contain_text("Bob's Bikes")
    screenshot(admin, "admin-vendor-page")

    bob = page_for("bob")
    bob.goto("/messages/dashboard/")
    expect(bob.locator("main")).to_contain_text("Median first response")
    bob.set_viewport_size({"width": 390, "height": 844})
    bob.goto("/messages/dashboard/")
    assert fits(bob)
    screenshot(bob, "bob-dashboard-phone")
