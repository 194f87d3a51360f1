"""The account menu closes as menus do, and times stay right on a page left open."""

import datetime as dt
import re

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_account_menu_closes_with_esc_and_a_click_outside(demo, page_for):
    from playwright.sync_api import expect

    alice = page_for("alice")
    alice.goto("/orders/")
    button = alice.locator(".account-menu summary")
    menu = alice.locator(".account-menu")
    panel = alice.locator(".account-menu__panel")

    # Enter opens it; Esc closes it and gives the keyboard back to its button.
    button.focus()
    alice.keyboard.press("Enter")
    expect(panel).to_be_visible()
    alice.keyboard.press("Tab")
    expect(panel.get_by_role("link", name="My orders")).to_be_focused()
    alice.keyboard.press("Escape")
    expect(panel).to_be_hidden()
    expect(button).to_be_focused()

    # A click outside closes it.
    button.click()
    expect(panel).to_be_visible()
    alice.get_by_role("heading", level=1).click()
    expect(panel).to_be_hidden()
    assert menu.evaluate("menu => menu.open") is False

    # So does the keyboard leaving it.
    button.click()
    panel.get_by_role("button", name="Log out").focus()
    alice.keyboard.press("Tab")
    expect(panel).to_be_hidden()


def test_relative_times_follow_the_clock_on_a_page_left_open(demo, page_for, post):
    from playwright.sync_api import expect

    from tests.conftest import conversation_of

    post("bob", "1002", "bobs-bikes", "Your bike ships tomorrow.")
    message = conversation_of("1002", "bobs-bikes").messages.last()

    alice = page_for("alice")
    # Sent at 8 in the morning of the browser's day, whatever the time the test runs: two
    # hours later is still the same day there.
    morning = alice.evaluate("() => new Date(2026, 10, 2, 8, 0, 0).getTime()")
    sent = dt.datetime.fromtimestamp(morning / 1000, tz=dt.UTC)
    type(message).objects.filter(pk=message.pk).update(created_at=sent)
    alice.clock.install(time=sent + dt.timedelta(seconds=5))
    alice.goto("/messages/orders/1002/bobs-bikes/")
    time = alice.locator("#thread .om-msg").last.locator("time.om-when")
    expect(time).to_have_text("now")
    # The page told the server the browser's time zone, for the pages after this one.
    zone = alice.evaluate("() => Intl.DateTimeFormat().resolvedOptions().timeZone")
    assert {"name": "tz", "value": zone} in [
        {"name": c["name"], "value": c["value"]} for c in alice.context.cookies()
    ]
    title = time.get_attribute("title")
    assert re.fullmatch(r"\w+\.? \d+, \d{4}, .+ \(\w+\)", title), title

    alice.clock.run_for("05:00")
    expect(time).to_have_text("5 minutes ago")
    alice.clock.run_for("02:00:00")
    expect(time).to_have_text("2 hours ago")
    # Noon the next day (the browser's), then three days on: the date, as the server wrote it.
    until_noon_tomorrow = alice.evaluate(
        """() => {
          const noon = new Date(); noon.setDate(noon.getDate() + 1); noon.setHours(12, 0, 0, 0);
          return noon.getTime() - Date.now();
        }"""
    )
    alice.clock.fast_forward(until_noon_tomorrow)
    alice.clock.run_for("01:00")
    expect(time).to_have_text("yesterday")
    alice.clock.fast_forward(3 * 24 * 3600 * 1000)
    alice.clock.run_for("01:00")
    expect(time).to_have_text(time.get_attribute("data-date"))
    assert time.get_attribute("title") == title
