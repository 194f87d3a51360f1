"""Browser tests: Playwright (sync API) driving Debian's Chromium against ``live_server``.

Without Chromium or Playwright the browser tests are skipped, unless REQUIRE_BROWSER=1 is
set (as in CI), in which case they fail with the reason. Screenshots of key steps go to
SCREENSHOT_DIR (default: test-artifacts/screenshots in the repository, git-ignored).
"""

import os
import re
import shutil
from pathlib import Path

import pytest

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
    one connection, and two requests at once (a thumbnail while another file uploads) would
    use it together, now and then reading nothing: the live server then answers one
    request at a time, as Django's own server does when not threaded. (Under WSGI the live
    event stream answers at once, so no request holds the server.)"""
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
def screenshot_dir():
    path = Path(os.environ.get("SCREENSHOT_DIR") or REPO / "test-artifacts" / "screenshots")
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture
def screenshot(request, screenshot_dir):
    """``screenshot(page, "step-name")``: a full-page PNG for humans; never asserted."""
    counter = iter(range(1, 1000))
    test = re.sub(r"\W+", "-", request.node.name).strip("-")

    def take(page, name):
        path = screenshot_dir / f"{test}-{next(counter):02d}-{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take


def _logged_in_pages(browser, base_url):
    """``make("alice")``: a page in a fresh browser context, logged in through the real
    login form (``javascript=False``: a browser without JavaScript); and the contexts to
    close."""
    from playwright.sync_api import expect

    contexts = []

    def make(username, password=PASSWORD, *, javascript=True):
        context = browser.new_context(
            base_url=base_url,
            viewport={"width": 1280, "height": 900},
            locale="en-US",
            java_script_enabled=javascript,
        )
        context.set_default_timeout(10_000)
        contexts.append(context)
        page = context.new_page()
        page.goto(f"{base_url}/accounts/login/")
        page.locator("#id_username").fill(username)
        page.locator("#id_password").fill(password)
        page.get_by_role("button", name="Log in").click()
        expect(page.locator("#id_password")).to_have_count(0)
        # Logged in: the header shows the messages icon (only for authenticated users).
        expect(page.get_by_test_id("messages-icon")).to_be_visible()
        return page

    return make, contexts


@pytest.fixture
def page_for(browser, live_server):
    """``page_for("alice")``: logged-in pages on Django's (WSGI) live server."""
    make, contexts = _logged_in_pages(browser, live_server.url)
    yield make
    for context in contexts:
        context.close()


@pytest.fixture
def live_page_for(browser, asgi_server):
    """``live_page_for("alice")``: logged-in pages on the ASGI server, with live updates."""
    make, contexts = _logged_in_pages(browser, asgi_server)
    yield make
    for context in contexts:
        context.close()
