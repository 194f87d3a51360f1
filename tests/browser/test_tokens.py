"""The API tokens page in a browser: a new token is shown once, legibly, beside a button
that copies it; reloading the page afterwards makes no second token."""

import re

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_new_token_is_shown_once_and_a_reload_makes_no_second(demo, page_for, screenshot):
    from playwright.sync_api import expect

    from order_messages.models import ApiToken

    alice = page_for("alice")
    alice.goto("/messages/tokens/")
    alice.get_by_role("textbox", name="Name").fill("Phone app")
    alice.get_by_role("button", name="Create token").click()

    shown = alice.get_by_test_id("new-token")
    expect(shown).to_have_value(re.compile(r"^om_\S{40,}$"))
    token = shown.input_value()
    assert token not in alice.url
    # Legible: in a monospace font, with room below the line for the underscores.
    font, line, size = shown.evaluate(
        "field => ['fontFamily', 'lineHeight', 'fontSize'].map(p => getComputedStyle(field)[p])"
    )
    assert "monospace" in font
    assert line.endswith("px") and float(line[:-2]) >= 1.5 * float(size[:-2])
    screenshot(alice, "new-token")

    alice.reload()  # after a form's answer, the browser would send the form again

    expect(alice.locator(".om-muted-list strong")).to_have_text(["Phone app"])
    expect(alice.get_by_test_id("new-token")).to_have_count(0)
    expect(alice.get_by_role("button", name="Copy", exact=True)).to_have_count(0)
    assert token not in alice.content()
    assert ApiToken.objects.filter(name="Phone app").count() == 1
    expect(alice.get_by_role("link", name="API documentation")).to_have_attribute(
        "href", "/api/v1/docs"
    )


def test_the_copy_button_copies_the_token_and_says_so(demo, page_for, live_server):
    from playwright.sync_api import expect

    alice = page_for("alice")
    alice.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server.url)
    alice.goto("/messages/tokens/")
    alice.get_by_role("textbox", name="Name").fill("Shop sync")
    alice.get_by_role("button", name="Create token").click()
    token = alice.get_by_test_id("new-token").input_value()

    copy = alice.get_by_role("button", name="Copy", exact=True)
    expect(copy).to_be_visible()
    copy.click()

    expect(alice.get_by_role("button", name="Copied", exact=True)).to_be_visible()
    expect(alice.locator("[data-copy-status]")).to_have_text("Copied")
    expect(alice.locator("[data-copy-status]")).to_have_attribute("aria-live", "polite")
    assert alice.evaluate("navigator.clipboard.readText()") == token
    # It says so briefly, then offers to copy again.
    expect(copy).to_have_text("Copy", timeout=5_000)
    expect(alice.locator("[data-copy-status]")).to_have_text("")


def test_without_javascript_the_token_is_text_to_select(demo, page_for):
    from playwright.sync_api import expect

    page = page_for("alice", javascript=False)
    page.goto("/messages/tokens/")
    page.get_by_role("textbox", name="Name").fill("Laptop")
    page.get_by_role("button", name="Create token").click()

    expect(page.get_by_test_id("new-token")).to_have_value(re.compile(r"^om_"))
    expect(page.get_by_role("button", name="Copy", exact=True)).to_have_count(0)
