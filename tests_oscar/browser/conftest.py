"""Browser tests of the Oscar shop: Playwright (sync API) driving Debian's Chromium against
``live_server``, as the app's own browser tests do.

Without Chromium or Playwright they are skipped, unless REQUIRE_BROWSER=1 is set (as in
CI), in which case they fail with the reason. Screenshots of key steps go to
SCREENSHOT_DIR (default: test-artifacts/screenshots in the repository, git-ignored)."""

import os
import re
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from oscar.core.loading import get_model

# Chromium, its launch and the live server's one request at a time on SQLite are the app's
# own browser tests' (importing them also lets Django's ORM run beside Playwright's loop).
from tests.browser.conftest import (  # noqa: F401 (fixtures)
    PASSWORD,
    REPO,
    browser,
    one_request_at_a_time_on_sqlite,
)

from ..conftest import FAST_HASHERS

EMAILS = {
    "alice": "alice@customers.example",
    "carol": "carol@customers.example",
    "bob": "bob@bobs-bikes.example",
    "dave": "dave@daves-outdoor.example",
    "admin": "admin@marketplace.example",
}
PHONE = {"width": 390, "height": 844}
LAPTOP = {"width": 1280, "height": 800}
SMALL_LAPTOP = {"width": 1366, "height": 768}
DESKTOP = {"width": 1920, "height": 1080}


def pytest_collection_modifyitems(config, items):
    here = Path(__file__).parent
    for item in items:
        if here in item.path.parents:
            item.add_marker(pytest.mark.browser)


@pytest.fixture
def shop(transactional_db, settings):
    """The shop's seed. The live server reads only what is committed, so a browser test
    runs outside a transaction and its database is emptied after it: the next one seeds
    it again."""
    settings.PASSWORD_HASHERS = FAST_HASHERS
    if not get_model("order", "Order").objects.exists():
        call_command("seed_oscar", stdout=StringIO())


@pytest.fixture
def screenshot(request):
    """``screenshot(page, "step-name")``: a PNG of the screen for humans; never asserted."""
    folder = Path(os.environ.get("SCREENSHOT_DIR") or REPO / "test-artifacts" / "screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    counter = iter(range(1, 1000))
    test = re.sub(r"\W+", "-", request.node.name).strip("-")

    def take(page, name):
        path = folder / f"oscar-{test}-{next(counter):02d}-{name}.png"
        page.screenshot(path=str(path))
        return path

    return take


@pytest.fixture
def page_for(browser, live_server, shop):  # noqa: F811 (the fixture)
    """``page_for("alice", viewport=PHONE)``: a page in a fresh browser context, logged in
    through Oscar's login form; ``page_for(None)`` for someone not logged in. Other
    keywords are the context's (``reduced_motion="reduce"``)."""
    from playwright.sync_api import expect

    contexts = []

    def make(username, *, viewport=LAPTOP, **options):
        context = browser.new_context(
            base_url=live_server.url, viewport=viewport, locale="en-US", **options
        )
        context.set_default_timeout(10_000)
        contexts.append(context)
        page = context.new_page()
        if username is not None:
            page.goto("/accounts/login/")
            page.locator("#id_login-username").fill(EMAILS[username])
            page.locator("#id_login-password").fill(PASSWORD)
            page.locator("button[name=login_submit]").click()
            expect(page.locator("#id_login-password")).to_have_count(0)
        return page

    yield make
    for context in contexts:
        context.close()
