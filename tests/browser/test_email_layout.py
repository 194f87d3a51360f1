"""An e-mail's HTML version on a phone: a word longer than the screen (a long link, a code)
wraps inside the card instead of widening the whole e-mail."""

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize("width", [390, 1280])
def test_a_long_word_wraps_inside_the_email(demo, post, mailoutbox, browser, width):
    from tests.conftest import deliver_notifications

    post("alice", "1002", "bobs-bikes", "Tracking: " + "A1B2C3" * 400)
    deliver_notifications()
    (email,) = [m for m in mailoutbox if m.to == ["bob@bobs-bikes.example"]]
    (html, _mimetype), *_ = email.alternatives

    context = browser.new_context(viewport={"width": width, "height": 800})
    try:
        page = context.new_page()
        page.set_content(html)
        assert page.evaluate("document.documentElement.scrollWidth") <= width
    finally:
        context.close()
