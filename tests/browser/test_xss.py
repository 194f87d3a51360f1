"""Hostile text in Chromium. The demo's pages work under the Content-Security-Policy without
one violation; and a corpus of classic XSS payloads, put everywhere a person can put text
(message bodies, dispute reasons, people's and vendors' names, item names, the back office's
search box, API token names, and so the e-mails and webhooks that carry them), renders on
every page that shows it as the literal text, with no script run, no handler attribute, no
foreign element and no request made, with the policy and without it (escaping alone holds).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import timedelta
from urllib.parse import urlencode

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.utils import timezone

from demo.mailbox.models import DemoEmail
from demo.store.models import DemoWebhook, Order, OrderItem, Product, Vendor
from order_messages.actions import create_token
from order_messages.models import Conversation
from order_messages.models.notifications import Mute
from order_messages.webhooks.delivery import deliver_all as deliver_webhooks
from tests.conftest import FAST_HASHERS, deliver_notifications

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "demo"
MARKER = "/__xss__/"

# ``{n}`` becomes a number naming the payload and where it was put, so a failure says which.
# Each payload, if it ever ran or loaded, would call __xss(n) or request /__xss__/n.
PAYLOADS = [
    "<script>__xss({n})</script>",
    "<img src=x onerror=__xss({n})>",
    "<svg onload=__xss({n})>",
    '"><svg onload=__xss({n})>',
    "'><img src=x onerror=__xss({n})>",
    '" autofocus onfocus="__xss({n})',
    "' autofocus onfocus='__xss({n})",
    "javascript:__xss({n})",
    "JaVaScRiPt:__xss({n})//http://example.com/",
    '<a href="javascript:__xss({n})">click me</a>',
    "</textarea><script>__xss({n})</script>",
    "</title><script>__xss({n})</script>",
    "</script><script>__xss({n})</script>",
    '<iframe src="javascript:__xss({n})"></iframe>',
    '<iframe srcdoc="<script>parent.__xss({n})</script>"></iframe>',
    "<body onload=__xss({n})>",
    "<details open ontoggle=__xss({n})>",
    "<input autofocus onfocus=__xss({n})>",
    "<math><mtext><table><mglyph><style><img src=x onerror=__xss({n})>",
    '<noscript><p title="</noscript><img src=x onerror=__xss({n})>">',
    "{{ __xss({n}) }} {% debug %}",
    "{{constructor.constructor('__xss({n})')()}}",
    "${__xss({n})}",
    "&lt;script&gt;__xss({n})&lt;/script&gt;",
    "&#60;img src=x onerror=__xss({n})&#62;",
    "data:text/html,<script>__xss({n})</script>",
    'http://example.com/"onmouseover="__xss({n})"',
    "https://example.com/?q=<script>__xss({n})</script>",
    "www.example.com/'><img src=x onerror=__xss({n})>",
    "mailto:x@example.com?subject=<script>__xss({n})</script>",
    'x@example.com"><img src=x onerror=__xss({n})>',
    '<style>@import "/__xss__/{n}";</style>',
    '<link rel=stylesheet href="/__xss__/{n}">',
    '<img src="/__xss__/{n}">',
    '<meta http-equiv="refresh" content="0;url=/__xss__/{n}">',
    '<base href="/__xss__/{n}/">',
    '<object data="/__xss__/{n}"></object>',
    '<div hx-get="/__xss__/{n}" hx-trigger="load">htmx</div>',
    "\u202e<img src=x onerror=__xss({n})>\u202c",
    "\u200b<scr\u200bipt>__xss({n})</scr\u200bipt>",
    "\uff1cscript\uff1e__xss({n})\uff1c/script\uff1e",
    "<scr<script>ipt>__xss({n})</script>",
    '<!--<img src="--><img src=x onerror=__xss({n})//">',
    '<svg><script href="data:,__xss({n})" /></svg>',
    '<a href="https://example.com" onclick="__xss({n})">a link</a>',
    "line one\n<img src=x onerror=__xss({n})>\nline three",
]
# Names are short: the payloads that break out of text and of attributes.
NAME_PAYLOADS = [PAYLOADS[i] for i in (0, 1, 3, 4, 5, 6, 10, 12, 18, 20)]


def payload(index: int, channel: int, source: list[str] = PAYLOADS) -> str:
    return source[index].replace("{n}", str(channel * 1000 + index))


def channel_of(channel: int, source: list[str] = PAYLOADS) -> list[str]:
    return [payload(i, channel, source) for i in range(len(source))]


def shown(text: str) -> str:
    """What a page shows of a text: line breaks become <br> (linebreaksbr)."""
    return text.replace("\n", "")


# Channels: the thousands of the number in a payload.
MESSAGES, REASONS, TYPED, NAMES, VENDORS, ITEMS, SEARCH, TOKENS, CUSTOMERS = range(1, 10)


# -- instrumenting a browser context --------------------------------------------------------

TRAP = """
(() => {
  const report = (kind, detail) => {
    try { window.__omReport(kind, String(detail)); } catch (e) { /* binding not yet bound */ }
  };
  for (const name of ["alert", "confirm", "prompt", "print"]) {
    window[name] = (value) => report("dialog", name + ":" + value);
  }
  document.addEventListener("securitypolicyviolation", (event) => {
    report("csp", `${event.violatedDirective} ${event.blockedURI} ${event.sample}`);
  });
})();
"""

# Returns what is wrong with the page's DOM: anything that could run or load what a person
# wrote. Allowed: the page's own scripts and style sheets from /static/, the mailbox's
# preview frames, links and forms to http(s)/mailto or this site.
AUDIT = r"""
() => {
  const problems = [];
  // As a browser reads a URL's scheme: control characters and spaces do not count.
  const safeUrl = (value) => {
    const bare = value.replace(/[\u0000-\u0020\u007f-\u009f]/g, "").toLowerCase();
    const scheme = /^([a-z][a-z0-9+.-]*):/.exec(bare);
    return !scheme || ["http", "https", "mailto"].includes(scheme[1]);
  };
  const urlAttributes = ["href", "src", "action", "formaction", "data", "xlink:href", "poster",
                         "background", "srcset", "ping"];
  for (const el of document.querySelectorAll("*")) {
    for (const attr of el.attributes) {
      const name = attr.name.toLowerCase();
      if (name.startsWith("on")) problems.push(`${el.localName}[${name}="${attr.value}"]`);
      if (urlAttributes.includes(name) && !safeUrl(attr.value))
        problems.push(`${el.localName}[${name}="${attr.value}"]`);
      if (name === "srcdoc") problems.push(`${el.localName}[srcdoc]`);
      if ((name.startsWith("hx-") || name.startsWith("data-hx-")) && attr.value.includes("__xss"))
        problems.push(`${el.localName}[${name}="${attr.value}"]`);
    }
  }
  const pathOf = (el, name) => {
    try { return new URL(el.getAttribute(name), location.href).pathname; } catch (e) { return ""; }
  };
  for (const el of document.querySelectorAll("script")) {
    if (!el.hasAttribute("src") || !pathOf(el, "src").startsWith("/static/"))
      problems.push("script: " + el.outerHTML.slice(0, 160));
  }
  const foreign = "iframe, frame, object, embed, base, style, meta[http-equiv], link";
  for (const el of document.querySelectorAll(foreign)) {
    if (el.localName === "iframe" && /^\/demo\/mailbox\/\d+\.html$/.test(pathOf(el, "src")))
      continue;
    const own =
      ["stylesheet", "icon"].includes(el.rel) && pathOf(el, "href").startsWith("/static/");
    if (el.localName === "link" && own) continue;
    problems.push(el.localName + ": " + el.outerHTML.slice(0, 160));
  }
  return problems;
}
"""


@dataclass
class Watch:
    """What a browser context saw that it should not have: payloads run, markers loaded,
    policy violations, console errors, DOM problems; each with the page it happened on."""

    calls: list[str] = field(default_factory=list)
    loads: list[str] = field(default_factory=list)
    violations: list[str] = field(default_factory=list)
    console: list[str] = field(default_factory=list)
    dom: list[str] = field(default_factory=list)
    pages: int = 0

    def problems(self) -> dict[str, list[str]]:
        return {
            name: values
            for name, values in (
                ("payloads run", self.calls),
                ("markers requested", self.loads),
                ("CSP violations", self.violations),
                ("console errors", self.console),
                ("DOM", self.dom),
            )
            if values
        }


def watch(page, watched: Watch):
    """Arm a logged-in page's context: the trap function, the marker route, CSP and
    console listeners."""
    context = page.context

    def on_report(source, kind, detail):
        where = source["frame"].url
        if kind == "csp":
            watched.violations.append(f"{where}: {detail}")
        else:
            watched.calls.append(f"{where}: {kind} {detail}")

    def on_xss(source, number):
        watched.calls.append(f"{source['frame'].url}: __xss({number})")

    def on_marker(route):
        watched.loads.append(route.request.url)
        route.fulfill(status=204, body="")

    def on_dialog(dialog):
        watched.calls.append(f"{page.url}: dialog {dialog.message}")
        dialog.dismiss()

    def on_console(message):
        if message.type == "error":
            watched.console.append(f"{page.url}: {message.text}")

    context.expose_binding("__omReport", on_report)
    context.expose_binding("__xss", on_xss)
    context.add_init_script(TRAP)
    context.route(re.compile(re.escape(MARKER)), on_marker)
    page.on("dialog", on_dialog)
    page.on("console", on_console)
    page.on("pageerror", lambda error: watched.console.append(f"{page.url}: {error}"))
    return page


def visit(page, url: str, watched: Watch, *, audit: bool = True):
    """Open ``url``, let it settle, and audit its DOM."""
    response = page.goto(url)
    assert response is not None and response.ok, f"{url}: {response and response.status}"
    page.wait_for_load_state("load")
    watched.pages += 1
    if audit:
        for problem in page.evaluate(AUDIT):
            watched.dom.append(f"{url}: {problem}")
    return page


def arm(page_for, watched: Watch):
    def make(username):
        return watch(page_for(username), watched)

    return make


# -- the demo's pages under the policy --------------------------------------------------------


def directives(header: str) -> dict[str, list[str]]:
    return {
        name: values
        for name, *values in (part.split() for part in header.split(";") if part.strip())
    }


def test_pages_send_the_policy_and_the_mail_preview_a_stricter_one(
    demo, client_for, post, settings, tmp_path
):
    settings.EMAIL_BACKEND = "demo.mailbox.mail.MailboxBackend"
    post("alice", "1002", "bobs-bikes", "Hello")
    deliver_notifications()
    alice = client_for("alice")

    page = alice.get("/messages/orders/1002/bobs-bikes/")
    policy = directives(page.headers["Content-Security-Policy"])
    assert policy["script-src"] == ["'self'"] and policy["style-src"] == ["'self'"]
    assert policy["object-src"] == ["'none'"] and policy["frame-ancestors"] == ["'none'"]
    assert policy["base-uri"] == ["'self'"] and policy["form-action"] == ["'self'"]
    assert not any("unsafe" in value for values in policy.values() for value in values)

    preview = alice.get(f"/demo/mailbox/{DemoEmail.objects.latest('pk').pk}.html")
    policy = directives(preview.headers["Content-Security-Policy"])
    assert policy["default-src"] == ["'none'"] and "sandbox" in policy
    assert policy["style-src"] == ["'unsafe-inline'"]  # e-mail styles itself inline
    assert "script-src" not in policy and policy["frame-ancestors"] == ["'self'"]
    assert preview.headers["X-Frame-Options"] == "SAMEORIGIN"
    assert page.headers["X-Frame-Options"] == "DENY"

    from tests.test_production_settings import PRODUCTION, run

    code = "import django; django.setup(); from django.conf import settings; "
    code += "print(settings.CONTENT_SECURITY_POLICY['DIRECTIVES'])"
    result = run(["-c", code], PRODUCTION, tmp_path)
    assert result.returncode == 0, result.stderr
    assert "'upgrade-insecure-requests': True" in result.stdout
    assert """'script-src': ["'self'"]""" in result.stdout


def test_the_demo_pages_work_under_the_content_security_policy(
    demo, post, dispute, browser, live_server, page_for, settings
):
    """Every kind of page, as the person who sees it, with the policy the demo sends: no
    violation is reported, and the parts that need JavaScript (the composer through htmx,
    the dispute pop-up, Swagger UI) still work."""
    from playwright.sync_api import expect

    settings.EMAIL_BACKEND = "demo.mailbox.mail.MailboxBackend"
    post("alice", "1001", "bobs-bikes", "Where is my helmet?")
    dispute.open("alice", "1002", "bobs-bikes", "The lights flicker.")
    deliver_notifications()
    watched = Watch()
    pages = arm(page_for, watched)

    anonymous = watch(browser.new_context(base_url=live_server.url).new_page(), watched)
    for url in ("/", "/accounts/login/"):
        visit(anonymous, url, watched)
    anonymous.context.close()

    alice = pages("alice")
    for url in (
        "/",
        "/orders/",
        "/orders/1001/",
        "/messages/",
        "/messages/orders/1002/bobs-bikes/",
        "/messages/preferences/",
        "/messages/tokens/",
        "/messages/orders/1001/bobs-bikes/dispute/open/",
        "/messages/orders/1002/bobs-bikes/dispute/close/",
        "/demo/webhooks/",
        "/demo/mailbox/",
    ):
        visit(alice, url, watched)
    # The mailbox shows each e-mail's HTML part in a frame under the e-mail's own policy.
    preview = alice.locator("details").filter(has=alice.locator("iframe")).first
    preview.locator("summary").click()
    frame = preview.frame_locator("iframe")
    expect(frame.get_by_role("link", name="Read and reply")).to_be_visible()

    visit(alice, "/messages/orders/1001/bobs-bikes/", watched)
    # The composer posts through htmx and swaps the answer in.
    alice.get_by_role("textbox", name="Your message").fill("Sent under the policy.")
    alice.get_by_role("button", name="Send").click()
    expect(alice.locator("#thread .om-msg").last).to_contain_text("Sent under the policy.")
    assert alice.url.endswith("/messages/orders/1001/bobs-bikes/")  # no full page load
    # Swapping in elements a script has styled (a resized box, say) must not make htmx copy
    # their style attribute across, which the policy refuses.
    alice.evaluate(
        "() => document.querySelectorAll('#thread, #thread .om-msg, textarea')"
        ".forEach(e => { e.style.minHeight = '5em'; })"
    )
    alice.get_by_role("textbox", name="Your message").fill("Sent again.")
    alice.get_by_role("button", name="Send").click()
    expect(alice.locator("#thread .om-msg").last).to_contain_text("Sent again.")
    # The dispute pop-up is opened by the page's script.
    alice.get_by_role("link", name="Open dispute").click()
    expect(alice.get_by_role("dialog", name="Open dispute")).to_be_visible()

    staff = pages("admin")
    for url in ("/messages/", "/messages/?q=1001", "/messages/dashboard/"):
        visit(staff, url, watched)
    for url in ("/admin/", "/admin/order_messages/conversation/", "/admin/auth/user/add/"):
        visit(staff, url, watched, audit=False)  # Django's admin: its own DOM
    visit(staff, "/api/v1/docs", watched, audit=False)  # Swagger UI's own DOM
    expect(staff.locator(".opblock-summary-path").first).to_be_visible()
    expect(staff.locator(".opblock")).to_have_count(api_operations())  # every one

    vendor = pages("bob")
    for url in ("/messages/orders/1001/bobs-bikes/", "/messages/orders/1002/bobs-bikes/"):
        visit(vendor, url, watched)
    # Where the live stream is unavailable (this WSGI server declines it), the header icon
    # polls; htmx's trigger filter for that would need eval, which the policy refuses.
    settings.ORDER_MESSAGES_POLL_INTERVAL = 1
    visit(vendor, "/messages/dashboard/", watched)
    expect(vendor.get_by_test_id("unread-count")).to_have_count(0)
    post("alice", "1002", "bobs-bikes", "Polled, not pushed.")
    expect(vendor.get_by_test_id("unread-count")).to_have_text("1", timeout=5000)

    assert watched.pages >= 24
    assert not watched.problems(), watched.problems()


def test_the_icon_polls_only_while_the_live_stream_is_down(demo, live_page_for, settings):
    """The poll's condition lives in the page's script, not in an htmx filter (eval)."""
    settings.ORDER_MESSAGES_POLL_INTERVAL = 1
    bob = live_page_for("bob")
    polls = []
    bob.on("request", lambda request: "/messages/unread/" in request.url and polls.append(1))
    bob.goto("/messages/dashboard/")
    bob.wait_for_function("() => window.omLiveOpen === true")
    polls.clear()
    bob.wait_for_timeout(3500)  # three poll periods with the stream open
    assert polls == []

    bob.evaluate("window.omLiveOpen = false")
    with bob.expect_request(re.compile(r"/messages/unread/$"), timeout=5000):
        pass


# -- the XSS corpus everywhere ------------------------------------------------------------------


@dataclass
class World:
    messages: list[str]
    reasons: list[str]
    staff_names: list[str]
    vendor_names: list[str]
    item_names: list[str]
    customer_name: str
    token_names: list[str]
    vendor_keys: list[str]
    vendor_user: str = "eve"


def make_user(demo, username: str, name: str):
    """A demo account (added to ``demo``) named ``name``."""
    user = get_user_model().objects.create(
        username=username, first_name=name, email=f"{username}@hostile.example"
    )
    user.set_password(PASSWORD)
    user.save()
    demo[username] = user
    return user


@pytest.fixture
def world(demo, post, dispute, live_server, settings):
    """The demo store with the corpus put everywhere; the e-mails delivered to the demo
    mailbox and the webhooks to the demo's receiver."""
    settings.PASSWORD_HASHERS = FAST_HASHERS
    settings.EMAIL_BACKEND = "demo.mailbox.mail.MailboxBackend"
    settings.ORDER_MESSAGES_SITE_URL = live_server.url
    settings.ORDER_MESSAGES_POST_RATE_LIMIT = None  # Alice writes the corpus twice over
    settings.ORDER_MESSAGES_DISPUTE_RATE_LIMIT = None  # and opens a dispute for each reason
    call_command("seed_demo", "--webhook-receiver", "--no-history", verbosity=0)
    names = channel_of(NAMES, NAME_PAYLOADS)
    world = World(
        messages=channel_of(MESSAGES),
        reasons=channel_of(REASONS),
        staff_names=names[1:7],
        vendor_names=channel_of(VENDORS, NAME_PAYLOADS)[:3],
        item_names=channel_of(ITEMS, NAME_PAYLOADS)[:3],
        customer_name=payload(3, CUSTOMERS),
        token_names=channel_of(TOKENS, NAME_PAYLOADS)[:5],
        vendor_keys=[f"hostile-{i}" for i in range(3)],
    )

    # Alice's own name, and Bob's Bikes' staff, each with a hostile name.
    alice = demo["alice"]
    alice.first_name, alice.last_name = names[0], ""
    alice.save()
    bikes = Vendor.objects.get(slug="bobs-bikes")
    for i, name in enumerate(world.staff_names):
        bikes.staff.add(make_user(demo, f"mallory{i}", name))

    # Three vendors with hostile names, selling hostile items, in one order of Alice's whose
    # customer name is hostile too; Eve (hostile name) works for the first.
    order = Order.objects.create(
        number="7001",
        customer=alice,
        email=alice.email,
        name=world.customer_name,
        placed_at=timezone.now() - timedelta(days=1),
    )
    for key, name, item in zip(
        world.vendor_keys, world.vendor_names, world.item_names, strict=True
    ):
        vendor = Vendor.objects.create(slug=key, name=name)
        product = Product.objects.create(name=item, price="9.99", vendor=vendor)
        OrderItem.objects.create(order=order, product=product, vendor=vendor, name=item, price=1)
    helmet = Product.objects.get(name="Bike helmet Aero")
    OrderItem.objects.create(order=order, product=helmet, vendor=bikes, name=helmet.name, price=1)
    Vendor.objects.get(slug=world.vendor_keys[0]).staff.add(
        make_user(demo, world.vendor_user, names[7])
    )

    # Every payload as a message and as a dispute reason; the staff and Eve write too.
    for body in world.messages:
        post("alice", "1002", "bobs-bikes", body)
    for i in range(len(world.staff_names)):
        post(f"mallory{i}", "1002", "bobs-bikes", f"Staff member {i} here.")
    for reason in world.reasons:
        dispute.open("alice", "1001", "daves-outdoor", reason)
        dispute.close("alice", "1001", "daves-outdoor")
    dispute.open("alice", "1001", "daves-outdoor", world.reasons[0])
    for key in world.vendor_keys:
        post("alice", "7001", key, world.messages[0])
    post(world.vendor_user, "7001", world.vendor_keys[0], world.messages[1])
    post("alice", "7001", "bobs-bikes", world.messages[2])
    dispute.open("alice", "7001", world.vendor_keys[0], world.reasons[1])

    for name in world.token_names:
        create_token(user=alice, name=name)
    Mute.objects.create(
        conversation=Conversation.objects.get(order_number="7001", vendor_key=world.vendor_keys[1]),
        email=alice.email,
    )
    deliver_notifications()
    deliver_webhooks(now=timezone.now() + timedelta(minutes=5))
    # The dispute events fold into one e-mail per recipient, which lists every reason.
    assert DemoEmail.objects.count() > 15 and DemoWebhook.objects.count() > 50
    return world


def test_the_corpus_is_large_and_distinct():
    assert len(PAYLOADS) >= 40 and len(set(PAYLOADS)) == len(PAYLOADS)
    assert all("{n}" in p for p in PAYLOADS)


# Aimed at a second rendering or decoding of the text (template engines, entity decoders,
# filters that strip tags once): as raw HTML they do nothing, so only "shown literally"
# says anything about them.
INERT_AS_HTML = {20, 21, 22, 23, 24, 39, 40, 41}
RAW_PAGE = """<!doctype html><html><head><title>raw</title></head><body>
<p>{p}</p><p><a href="{p}">link</a><input value="{p}"><input value='{p}'></p>
<textarea>{p}</textarea></body></html>"""


@pytest.mark.parametrize("policy", ["with the policy", "without the policy"])
def test_unescaped_payloads_would_be_caught_and_the_policy_stops_them(browser, settings, policy):
    """The watch is not blind: each payload written raw into a page (as text, in a link,
    in both kinds of attribute quotes, in a textarea) is caught. Under the demo's policy
    none of them runs even so: the second line of defence."""
    from csp.utils import build_policy

    headers = {"Content-Security-Policy": build_policy()} if policy == "with the policy" else {}
    context = browser.new_context(base_url="http://shop.test")
    page = context.new_page()

    def serve(route):
        raw = re.search(r"/raw/(\d+)$", route.request.url)
        if raw is None:
            route.fulfill(status=404)
        else:
            body = RAW_PAGE.replace("{p}", payload(int(raw.group(1)), 9))
            route.fulfill(status=200, content_type="text/html", headers=headers, body=body)

    context.route("**/*", serve)
    watched = Watch()
    watch(page, watched)
    caught = {}  # payload index: what the watch saw on its page
    for i in range(len(PAYLOADS)):
        before = {name: len(seen) for name, seen in watched.problems().items()}
        page.goto(f"/raw/{i}")
        page.wait_for_timeout(150)  # toggle and focus events fire after load
        watched.dom += page.evaluate(AUDIT)
        caught[i] = " ".join(
            " ".join(seen[before.get(name, 0) :]) for name, seen in watched.problems().items()
        ).strip()
    context.close()

    if policy == "with the policy":
        assert not watched.calls, watched.calls
        assert watched.violations
    else:
        missed = [PAYLOADS[i] for i, seen in caught.items() if not seen and i not in INERT_AS_HTML]
        assert not missed
        # What was seen is the payload of that page (its number is in it).
        assert all(str(9000 + i) in seen for i, seen in caught.items() if seen)


def texts(page, selector: str) -> list[str]:
    return page.locator(selector).evaluate_all("els => els.map(el => el.textContent)")


def all_pages(page, url: str, watched: Watch, *, collect: str) -> str:
    """Visit a paginated demo page and every page after it (its "Older" link); the text of
    the ``collect`` elements of all of them."""
    visit(page, url, watched)
    collected = texts(page, collect)
    while (older := page.get_by_role("link", name="Older", exact=True)).count():
        visit(page, url + older.get_attribute("href"), watched)
        collected += texts(page, collect)
    return "".join(collected)


@pytest.mark.parametrize("policy", ["with the policy", "without the policy"])
def test_no_payload_runs_anywhere_and_each_shows_literally(world, page_for, settings, policy):
    from playwright.sync_api import expect

    if policy == "without the policy":
        settings.CONTENT_SECURITY_POLICY = None
    # Every message of the hostile thread on one page.
    settings.ORDER_MESSAGES_THREAD_WINDOW = 1000
    watched = Watch()
    pages = arm(page_for, watched)

    # -- Alice: her threads, the order with hostile vendors, her settings and tokens --------
    alice = pages("alice")
    assert (alice.request.get("/messages/").headers.get("content-security-policy") is None) == (
        policy == "without the policy"
    )
    visit(alice, "/messages/orders/1002/bobs-bikes/?from=1", watched)
    bodies = texts(alice, ".om-msg:not(.om-msg--event) .om-msg__body")
    for body in world.messages:
        assert shown(body) in bodies
    authors = texts(alice, ".om-msg__author")
    for name in world.staff_names:
        assert name in authors
    # Typed into the composer and swapped in by htmx, as a person would send them.
    for i in (0, 1, 3, 13, 37):
        typed = payload(i, TYPED)
        alice.get_by_role("textbox", name="Your message").fill(typed)
        alice.get_by_role("button", name="Send").click()
        expect(alice.locator(".om-msg__body").last).to_have_text(typed)
    for problem in alice.evaluate(AUDIT):
        watched.dom.append(f"after sending: {problem}")

    visit(alice, "/messages/orders/1001/daves-outdoor/?from=1", watched)
    reasons = texts(alice, ".om-msg--event .om-msg__body")
    for reason in world.reasons:
        assert any(text.endswith(shown(reason)) for text in reasons), reason
    for key in world.vendor_keys:
        visit(alice, f"/messages/orders/7001/{key}/", watched)
        tabs = " ".join(texts(alice, ".om-tab"))
        assert all(name in tabs for name in world.vendor_names)
    assert any(name in " ".join(texts(alice, ".om-items li")) for name in world.item_names)
    for url in ("/", "/orders/", "/orders/7001/", "/messages/"):
        visit(alice, url, watched)
    visit(alice, "/messages/preferences/", watched)
    assert world.vendor_names[1] in " ".join(texts(alice, ".om-muted-list li"))
    visit(alice, "/messages/tokens/", watched)
    assert sorted(texts(alice, ".om-muted-list strong")) == sorted(world.token_names)
    # A new token named hostilely, through the form.
    alice.get_by_label("Name").fill(payload(5, TOKENS))
    alice.get_by_role("button", name="Create token").click()
    expect(alice.get_by_test_id("new-token")).to_be_visible()
    assert payload(5, TOKENS) in texts(alice, ".om-muted-list strong")

    # -- Bob and Eve: back office lists, every search, dashboards ------------------------------
    bob = pages("bob")
    visit(bob, "/messages/", watched)
    assert world.customer_name in " ".join(texts(bob, ".om-inbox__vendor"))
    for q in channel_of(SEARCH):
        visit(bob, "/messages/?" + urlencode({"q": q}), watched)
        assert bob.locator("#om-search").input_value() == q.replace("\n", "")
    visit(bob, "/messages/dashboard/", watched)
    visit(bob, "/messages/orders/1002/bobs-bikes/?from=1", watched)
    eve = pages(world.vendor_user)
    for url in (
        "/messages/",
        "/messages/dashboard/",
        f"/messages/orders/7001/{world.vendor_keys[0]}/",
    ):
        visit(eve, url, watched)

    # -- The store's staff: everything ---------------------------------------------------------
    admin = pages("admin")
    visit(admin, "/messages/", watched)
    listed = " ".join(texts(admin, ".om-inbox__vendor"))
    assert world.customer_name in listed and world.vendor_names[0] in listed
    visit(admin, "/messages/dashboard/", watched)
    shown_reasons = texts(admin, ".om-alert__reason")
    assert shown_reasons and all(
        any(" ".join(r.split())[:100] in text for r in world.reasons) for text in shown_reasons
    )
    visit(admin, f"/messages/orders/7001/{world.vendor_keys[0]}/", watched)

    # -- The e-mails and the webhooks, as the demo shows them --------------------------------
    mail = all_pages(admin, "/demo/mailbox/", watched, collect=".mail__text")
    for body in world.messages[:3] + world.reasons:
        assert body in mail
    # The HTML parts: each in its sandboxed frame, loaded when opened.
    visit(admin, "/demo/mailbox/", watched)
    previews = admin.locator("details").filter(has=admin.locator("iframe"))
    for summary in previews.locator("summary").all():
        summary.click()
    frames = [admin.frame_locator(f"iframe >> nth={i}") for i in range(previews.count())]
    html_texts = [frame.locator("body").text_content() for frame in frames]
    assert len(html_texts) > 10 and any(reason in "".join(html_texts) for reason in world.reasons)
    for frame in admin.frames[1:]:
        for problem in frame.evaluate(AUDIT):
            watched.dom.append(f"{frame.url}: {problem}")
    hooks = all_pages(admin, "/demo/webhooks/", watched, collect=".mail__text")
    assert "message.posted" in hooks

    assert watched.pages > 60  # the mailbox has fewer pages since dispute e-mails fold
    assert not watched.problems(), watched.problems()


def api_operations() -> int:
    """How many operations the API's schema names: the docs page shows one block each."""
    from order_messages.api import api

    paths = api.get_openapi_schema()["paths"].values()
    methods = {"get", "post", "put", "patch", "delete"}
    return sum(1 for path in paths for method in path if method in methods)
