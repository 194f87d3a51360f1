"""Screenshots of the main pages, on a desktop and on a phone, for README.md.

    make screenshots            (or: .venv/bin/python -m demo.screenshots [--out DIR])

Starts from nothing: a new SQLite database in a temporary folder, migrated and seeded as
``make demo`` seeds it, then Alice's question about her order from three sellers, Bob's
answer and her dispute, written through the app's actions. Serves the demo store on a free
local port from this process, drives Debian's Chromium through Playwright, and writes
palette PNGs (a few dozen KB each) into docs/screenshots/.
"""

from __future__ import annotations

import argparse
import io
import os
import sys
import tempfile
import threading
from datetime import timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}


def prepare_database(folder: Path) -> None:
    """A seeded demo database of its own, so the pictures never depend on the one a person
    is using. Settings read DATABASE_URL when they load: set it before Django starts."""
    os.environ["DATABASE_URL"] = f"sqlite:///{folder / 'screenshots.sqlite3'}"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "demo.settings")
    os.environ["DEBUG"] = "1"  # static files straight from the apps (WhiteNoise autorefresh)
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0, interactive=False)
    call_command("seed_demo", stdout=io.StringIO())
    tell_the_story()


def tell_the_story() -> None:
    """Order #1001 has three sellers: Alice asks Bob's Bikes and Dave's Outdoor, they
    answer, and she opens a dispute about the helmet."""
    from django.contrib.auth import get_user_model
    from django.utils import timezone

    from order_messages import actions
    from order_messages.notifications.worker import deliver_all
    from order_messages.queries import access_order

    users = {u.username: u for u in get_user_model().objects.all()}

    def post(username, vendor_key, body):
        access = access_order(user=users[username], order_number="1001")
        sub_order = access.sub_order(vendor_key)
        actions.post_message(
            order=access.order, sub_order=sub_order, actor=access.actor_in(sub_order), body=body
        )

    post(
        "alice", "bobs-bikes", "Hello Bob, the helmet in order 1001 has not arrived yet. Any news?"
    )
    post("bob", "bobs-bikes", "Hi Alice, it left our workshop on Monday; it should be there soon.")
    post("alice", "daves-outdoor", "Does the tent come with pegs and a footprint?")
    post("dave", "daves-outdoor", "Twelve pegs, yes; the footprint is sold separately.")
    access = access_order(user=users["alice"], order_number="1001")
    sub_order = access.sub_order("bobs-bikes")
    actions.open_dispute(
        order=access.order,
        sub_order=sub_order,
        actor=access.actor_in(sub_order),
        reason="The parcel came today, but the helmet's shell is cracked.",
    )
    post("bob", "bobs-bikes", "So sorry, Alice! A new helmet goes out today.")
    # The e-mails all this sends, as the worker would send them once their delay is over:
    # into the demo mailbox.
    deliver_all(now=timezone.now() + timedelta(days=2))


def serve() -> tuple[str, object]:
    """The demo store's WSGI application on a free port, in a thread of this process."""
    from django.core.servers.basehttp import ThreadedWSGIServer, WSGIRequestHandler
    from django.core.wsgi import get_wsgi_application

    class Quiet(WSGIRequestHandler):
        def log_message(self, *args):
            pass

    server = ThreadedWSGIServer(("127.0.0.1", 0), Quiet)
    server.set_app(get_wsgi_application())
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_port}", server


def optimise(png: bytes, path: Path) -> int:
    """A palette PNG: screenshots of a user interface have few colours."""
    from PIL import Image

    image = Image.open(io.BytesIO(png)).convert("RGB")
    image.quantize(colors=128, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE).save(
        path, optimize=True
    )
    return path.stat().st_size


def log_in(context, base_url, username):
    page = context.new_page()
    page.goto(base_url + "/accounts/login/")
    page.locator("#id_username").fill(username)
    page.locator("#id_password").fill("demo")
    page.get_by_role("button", name="Log in").click()
    page.get_by_test_id("messages-icon").wait_for()
    return page


def open_dispute_dialog(page):
    page.get_by_role("link", name="Open dispute", exact=True).first.click()
    page.locator("dialog[open]").wait_for()


# name, who, path, what to do on the page before the picture
SHOTS = [
    ("my-orders", "alice", "/orders/", None),
    ("thread-dispute", "alice", "/messages/orders/1001/bobs-bikes/", None),
    ("open-dispute", "alice", "/messages/orders/1001/daves-outdoor/", open_dispute_dialog),
    ("back-office", "admin", "/messages/", None),
    ("vendor-thread", "bob", "/messages/orders/1001/bobs-bikes/", None),
    ("dashboard", "admin", "/messages/dashboard/", None),
    ("mailbox", "alice", "/demo/mailbox/", None),
]


def take(out: Path) -> list[tuple[Path, int]]:
    from playwright.sync_api import sync_playwright

    base_url, server = serve()
    written = []
    out.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            for who in dict.fromkeys(who for _name, who, _path, _do in SHOTS):
                context = browser.new_context(viewport=DESKTOP, locale="en-US")
                page = log_in(context, base_url, who)
                for name, person, path, do in SHOTS:
                    if person != who:
                        continue
                    for label, viewport in (("desktop", DESKTOP), ("phone", PHONE)):
                        page.set_viewport_size(viewport)
                        page.goto(base_url + path)
                        if do:
                            do(page)
                        page.wait_for_timeout(150)  # the thread scrolls to its newest message
                        target = out / f"{name}-{label}.png"
                        written.append((target, optimise(page.screenshot(), target)))
                context.close()
        finally:
            browser.close()
            server.shutdown()
    return written


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "screenshots")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="om-screenshots-") as folder:
        prepare_database(Path(folder))
        for path, size in take(args.out):
            shown = path.relative_to(REPO) if path.is_relative_to(REPO) else path
            print(f"{shown}: {size // 1024} KB")
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(REPO))
    sys.exit(main())
