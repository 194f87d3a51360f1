"""Saved replies in a real browser: Bob saves one on the page, inserts it from the
composer's menu by mouse and by keyboard (at the cursor, replacing a selection), Esc
closes the menu, and everything fits 390 px."""

import re

import pytest

from order_messages import actions, queries

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

THREAD = "/messages/orders/1002/bobs-bikes/"


@pytest.fixture
def shared(transactional_db, demo):
    store = queries.access_backoffice(user=demo["admin"])
    return actions.create_saved_reply(
        scope=store, title="Returns", body="Order {order_number}: 30 days.", shared=True
    )


def test_bob_saves_a_reply_and_inserts_it_into_the_composer(shared, page_for, screenshot):
    from playwright.sync_api import expect

    bob = page_for("bob")
    bob.goto("/messages/")
    bob.get_by_role("navigation", name="Back office").get_by_role(
        "link", name="Saved replies"
    ).click()
    expect(bob.get_by_role("heading", name="Saved replies", level=1)).to_be_visible()
    bob.get_by_label("Title").fill("Thanks")
    bob.get_by_label("Text").fill("Thank you, {customer_name}!")
    bob.get_by_role("button", name="Save").click()
    expect(bob.get_by_role("status").or_(bob.locator(".flash"))).to_contain_text("saved")
    expect(bob.locator(".om-reply-list")).to_contain_text(["Thanks", "Returns"])
    screenshot(bob, "page")

    bob.goto(THREAD)
    textbox = bob.get_by_role("textbox", name="Your message")
    textbox.fill("Hello. REPLACE Bye.")
    # Select "REPLACE": the reply takes its place.
    textbox.evaluate("t => t.setSelectionRange(7, 14)")
    toggle = bob.locator("summary", has_text="Saved replies")
    toggle.click()
    menu = bob.locator("[data-saved-replies]")
    expect(menu.get_by_role("link", name="Manage saved replies")).to_be_visible()
    menu.get_by_role("button", name=re.compile("^Thanks")).click()
    expect(textbox).to_have_value("Hello. Thank you, Alice Archer! Bye.")
    expect(textbox).to_be_focused()
    expect(menu).not_to_have_attribute("open", "")

    # By keyboard: Enter opens, the arrows move, Enter inserts at the cursor.
    textbox.fill("")
    toggle.focus()
    bob.keyboard.press("Enter")
    expect(menu).to_have_attribute("open", "")
    bob.keyboard.press("ArrowDown")
    bob.keyboard.press("ArrowDown")
    expect(menu.get_by_role("button", name=re.compile("^Returns"))).to_be_focused()
    bob.keyboard.press("Enter")
    expect(textbox).to_have_value("Order 1002: 30 days.")
    # Esc closes it and gives the focus back to its button.
    toggle.focus()
    bob.keyboard.press(" ")
    expect(menu).to_have_attribute("open", "")
    bob.keyboard.press("Escape")
    expect(menu).not_to_have_attribute("open", "")
    expect(toggle).to_be_focused()

    bob.set_viewport_size({"width": 390, "height": 844})
    toggle.click()
    expect(menu.get_by_role("button", name=re.compile("^Returns"))).to_be_visible()
    assert bob.evaluate("document.documentElement.scrollWidth") <= 390
    screenshot(bob, "menu-390")
    bob.goto("/messages/replies/")
    assert bob.evaluate("document.documentElement.scrollWidth") <= 390
    screenshot(bob, "page-390")


def test_the_customer_has_no_saved_replies_menu(shared, page_for):
    from playwright.sync_api import expect

    alice = page_for("alice")
    alice.goto(THREAD)

    expect(alice.get_by_role("textbox", name="Your message")).to_be_visible()
    expect(alice.locator("[data-saved-replies]")).to_have_count(0)
