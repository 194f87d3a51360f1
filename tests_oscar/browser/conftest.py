"""Browser tests of the Oscar shop: Playwright (sync API) driving Debian's Chromium against
``live_server``, as the app's own browser tests do.

Without Chromium or Playwright they are skipped, unless REQUIRE_BROWSER=1 is set (as in
CI), in which case they fail with the reason. Screenshots of key steps go to
SCREENSHOT_DIR (default: test-artifacts/screenshots in the repository, git-ignored)."""

import os
import re
import shutil
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from oscar.core.loading import get_model

from ..conftest import FAST_HASHERS

# Playwright's sync API runs an asyncio event loop in this thread; without this, Django
# refuses ORM calls from the test ("You cannot call this from an async context").
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PASSWORD = "demo"
EMAILS = {
    "alice": "alice@customers.example",
    "carol": "carol@customers.example",
    "bob": "bob@bobs-bikes.example",
    "dave": "dave@daves-outdoor.example",
    "admin": "admin@marketplace.example",
}
PHONE = {"width": 390, "height": 844}
LAPTOP = {"width": 1280, "height": 800}
REPO = Path(__file__).resolve().parents[2]


def pytest_collection_modifyitems(config, items):
    here = Path(__file__).parent
    for item in items:
        if here in item.path.parents:
            item.add_marker(pytest.mark.browser)


def _unavailable(reason):
    if os.environ.get("REQUIRE_BROWSER") == "1":
        pytest.fail(f"REQUIRE_BROWSER=1 but the browser tests cannot run: {reason}", pytrace=False)
    pytest.skip(f"browser tests skipped: {reason} (set REQUIRE_BROWSER=1 to make this fail)")


@pytest.fixture(scope="session", autouse=True)
def one_request_at_a_time_on_sqlite(django_db_setup):
    """With SQLite in memory, Django's live server hands each request's thread the test's
    one connection, and two requests at once (the header icon's poll while a page loads)
    would use it together: the live server then answers one request at a time."""
    from django.core.servers.basehttp import WSGIServer
    from django.db import connection
    from django.test import testcases

    class OneAtATime(WSGIServer):
        def __init__(self, *args, connections_override=None, **kwargs):
            super().__init__(*args, **kwargs)

    threaded = testcases.LiveServerThread.server_class
    if connection.vendor == "sqlite" and connection.is_in_memory_db():
        testcases.LiveServerThread.server_class = OneAtATime
    yield
    testcases.LiveServerThread.server_class = threaded


@pytest.fixture
def shop(transactional_db, settings):
    """The shop's seed. The live server reads only what is committed, so a browser test
    runs outside a transaction and its database is emptied after it: the next one seeds
    it again."""
    settings.PASSWORD_HASHERS = FAST_HASHERS
    if not get_model("order", "Order").objects.exists():
        call_command("seed_oscar", stdout=StringIO())


@pytest.fixture(scope="session")
def browser():
    try:
        from playwright.sync_api import Error, expect, sync_playwright
    except ImportError as error:
        _unavailable(f"the playwright package is not installed ({error})")
    if not (os.path.isfile(CHROMIUM) or shutil.which(CHROMIUM)):
        _unavailable(f"Chromium not found at {CHROMIUM}")
    playwright = sync_playwright().start()
    try:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    except Error as error:
        playwright.stop()
        _unavailable(f"Chromium at {CHROMIUM} did not start: {error.message.splitlines()[0]}")
    expect.set_options(timeout=10_000)
    yield browser
    browser.close()
    playwright.stop()


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
def page_for(browser, live_server, shop):
    """``page_for("alice", viewport=PHONE)``: a page in a fresh browser context, logged in
    through Oscar's login form; ``page_for(None)`` for someone not logged in."""
    from playwright.sync_api import expect

    contexts = []

    def make(username, *, viewport=LAPTOP):
        context = browser.new_context(base_url=live_server.url, viewport=viewport, locale="en-US")
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
