"""The demo mailbox in a browser: a guest link is one click away, and the links of an
e-mail's HTML version open in a new tab instead of inside the preview's frame."""

import pytest

from tests.conftest import deliver_notifications

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def guest_mail(demo, settings, post, live_server):
    settings.EMAIL_BACKEND = "demo.mailbox.mail.MailboxBackend"
    settings.EMAIL_HOST = ""
    settings.ORDER_MESSAGES_SITE_URL = live_server.url  # the e-mails' links lead here
    post("dave", "1006", "daves-outdoor", "It is warm down to -5 °C.")
    deliver_notifications()


def test_a_guest_link_opens_in_one_click(guest_mail, browser, live_server):
    from playwright.sync_api import expect

    context = browser.new_context(base_url=live_server.url)
    try:
        page = context.new_page()
        page.goto("/demo/mailbox/")
        mail = page.get_by_test_id("mail").filter(has_text="gina@")
        mail.get_by_role("link", name="Open the messages (guest link)").click()
        expect(page.locator("#thread")).to_contain_text("It is warm down to -5 °C.")
        # Gina's own question is shown as hers.
        expect(page.locator("#thread .om-msg--mine")).to_contain_text("sleeping bag")
    finally:
        context.close()


def test_links_in_the_html_version_open_in_a_new_tab(guest_mail, browser, live_server):
    from playwright.sync_api import expect

    context = browser.new_context(base_url=live_server.url)
    try:
        page = context.new_page()
        page.goto("/demo/mailbox/")
        mail = page.get_by_test_id("mail").filter(has_text="gina@")
        mail.locator("summary", has_text="HTML version").click()
        link = mail.frame_locator("iframe").get_by_role("link").first
        expect(link).to_be_visible()
        with context.expect_page() as opened:
            link.click()
        # The store's page, whole in a tab of its own (framed, it would refuse to show).
        expect(opened.value.locator("#thread")).to_contain_text("It is warm down to -5 °C.")
        expect(page).to_have_url(f"{live_server.url}/demo/mailbox/")  # the mailbox stays
    finally:
        context.close()
