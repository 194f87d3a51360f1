"""The back office's bulk actions behave like a mail client's (B1): nothing to do until
something is selected, select all, the count of selected, by keyboard, and the list
afterwards."""

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def questions(no_conversations, post):
    post("alice", "1001", "bobs-bikes", "Where is my helmet?")
    post("alice", "1002", "bobs-bikes", "Is the bike assembled?")
    post("carol", "1005", "bobs-bikes", "Helmet size question")
    return no_conversations


def test_bulk_actions_wait_for_a_selection_and_select_all(questions, page_for, screenshot):
    from playwright.sync_api import expect

    from tests.conftest import counter_of

    bob = page_for("bob")
    bob.goto("/messages/")
    rows = bob.locator(".om-bo-list .om-inbox__row")
    expect(rows).to_have_count(3)
    read = bob.get_by_role("button", name="Mark as read", exact=True)
    unread = bob.get_by_role("button", name="Mark as unread", exact=True)
    select_all = bob.get_by_role("checkbox", name="Select all")
    count = bob.locator(".om-bulk__count")
    expect(read).to_be_disabled()
    expect(unread).to_be_disabled()
    expect(bob.get_by_role("button", name="Mark all as read")).to_be_enabled()
    expect(count).to_have_text("")

    # By keyboard: Space ticks the first row; the actions wake up, the count shows.
    rows.nth(0).get_by_role("checkbox").focus()
    bob.keyboard.press("Space")
    expect(count).to_have_text("Selected: 1")
    expect(read).to_be_enabled()
    assert select_all.evaluate("box => box.indeterminate") is True
    expect(select_all).not_to_be_checked()

    # Select all ticks every row; once more unticks them.
    select_all.focus()
    bob.keyboard.press("Space")
    expect(count).to_have_text("Selected: 3")
    for i in range(3):
        expect(rows.nth(i).get_by_role("checkbox")).to_be_checked()
    assert select_all.evaluate("box => box.indeterminate") is False
    select_all.click()
    expect(count).to_have_text("")
    expect(read).to_be_disabled()

    # Two rows read: the list and the selection show the outcome.
    rows.nth(0).get_by_role("checkbox").check()
    rows.nth(1).get_by_role("checkbox").check()
    screenshot(bob, "two-selected")
    read.click()
    expect(bob.get_by_text("2 conversations marked as read.")).to_be_visible()
    expect(bob.locator(".om-inbox__row--unread")).to_have_count(1)
    expect(bob.locator("input.om-bo-check:checked")).to_have_count(0)
    expect(read).to_be_disabled()
    expect(bob.locator(".om-bulk__count")).to_have_text("")
    assert counter_of(bob_user()) == 1

    # The unread filter no longer lists them.
    bob.get_by_role("link", name="Unread", exact=True).click()
    expect(rows).to_have_count(1)


def bob_user():
    from django.contrib.auth import get_user_model

    return get_user_model().objects.get(username="bob")


def test_without_javascript_an_empty_selection_is_refused(questions, page_for):
    from playwright.sync_api import expect

    page = page_for("bob", javascript=False)
    page.goto("/messages/")
    read = page.get_by_role("button", name="Mark as read", exact=True)
    expect(read).to_be_enabled()
    read.click()
    expect(page.get_by_text("Select at least one conversation first.")).to_be_visible()
    expect(page.locator(".om-inbox__row--unread")).to_have_count(3)
