"""Every page of the storefront and the back office, as every person who may see it, on a
desktop (1280x800) and on phones (390x844, and 360 wide): no sideways scrolling and no
content cut off, no serious or critical axe-core finding, no Content-Security-Policy
violation or script error, and on phones no control smaller than 44x44 CSS px (WCAG 2.5.5),
links in running text excepted.

One test per person: one browser context, logged in once, visits that person's pages at each
width and reports every problem found, each with its page, person and width. Pages that
only one person sees are audited once, as that person.
"""

from __future__ import annotations

import os
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

import pytest

from tests.conftest import deliver_notifications, guest_grant

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
SMALL_PHONE = {"width": 360, "height": 740}
WIDTHS = [DESKTOP, PHONE, SMALL_PHONE]
# axe-core needs a second or so a page: it runs at the two widths the layouts are made for;
# 360 wide, the layout only has to fit and keep its targets.
AXE_WIDTHS = {DESKTOP["width"], PHONE["width"]}
TARGET = 44  # CSS px, WCAG 2.5.5 (AAA) as the phone's minimum
# AUDIT_PAGES=mailbox: only the pages whose name holds that text, while working on them.
ONLY = os.environ.get("AUDIT_PAGES", "")
SERIOUS = {"serious", "critical"}
AXE_OPTIONS = {"resultTypes": ["violations"], "iframes": False}

ROLES = ["alice", "carol", "bob", "dave", "admin", "guest"]
CUSTOMERS = {"alice", "carol"}
VENDORS = {"bob", "dave"}
BACK_OFFICE = {"bob", "dave", "admin"}
PEOPLE = {*CUSTOMERS, *BACK_OFFICE}


# -- what is measured in the page ---------------------------------------------------------

# Records Content-Security-Policy violations from the first byte of every document, before
# any of the page's own scripts (Playwright's init scripts are not subject to the policy).
RECORD_CSP = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__cspViolations.push(`${e.effectiveDirective} blocked ${e.blockedURI || "inline"}`
    + (e.sourceFile ? ` (${e.sourceFile}:${e.lineNumber})` : "")
    + (e.sample ? `: ${e.sample}` : ""));
});
"""

# The elements wider than the window, the widest first: what makes the page scroll sideways.
OVERFLOW = """
() => {
  const root = document.documentElement;
  if (root.scrollWidth <= root.clientWidth) return null;
  const limit = root.clientWidth;
  const culprits = [];
  for (const el of document.body.querySelectorAll("*")) {
    const box = el.getBoundingClientRect();
    if (box.width && box.right > limit + 1) {
      culprits.push([box.right, el]);
    }
  }
  // Text too: a word that does not wrap sticks out of a box that does not.
  const words = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let text = words.nextNode(); text; text = words.nextNode()) {
    const range = document.createRange();
    range.selectNodeContents(text);
    const box = range.getBoundingClientRect();
    if (box.width && box.right > limit + 1) culprits.push([box.right, text.parentElement]);
  }
  // Keep the innermost: an element whose child already sticks out is not the cause.
  const inner = culprits.filter(
    ([, el]) => !culprits.some(([, other]) => other !== el && el.contains(other)));
  inner.sort((a, b) => b[0] - a[0]);
  const name = (el) => el.tagName.toLowerCase() + (el.id ? "#" + el.id : "")
    + [...el.classList].map((c) => "." + c).join("");
  return {scrollWidth: root.scrollWidth, clientWidth: limit,
          culprits: inner.slice(0, 4).map(([r, el]) => `${name(el)} to ${Math.round(r)}px`)};
}
"""

# Content cut off sideways inside the page: a box that hides or scrolls what is wider than
# it, where nothing says so. Allowed: text ending in an ellipsis on purpose, a scroll region
# made reachable and named on purpose (tabindex), and form fields, which scroll their text.
CLIPPED = """
() => {
  const found = [];
  for (const el of document.body.querySelectorAll("*")) {
    if (el.matches("input, textarea, select, [tabindex]") || el.clientWidth < 3) continue;
    const style = getComputedStyle(el);
    if (!["auto", "scroll", "hidden", "clip"].includes(style.overflowX)) continue;
    if (style.textOverflow === "ellipsis" || el.scrollWidth <= el.clientWidth + 1) continue;
    const name = el.tagName.toLowerCase() + (el.id ? "#" + el.id : "")
      + [...el.classList].map((c) => "." + c).join("");
    found.push(`${name} shows ${el.clientWidth}px of ${el.scrollWidth}px`);
  }
  return found;
}
"""

# Controls smaller than 44x44 on the screen. What counts as the target:
# - a, button, input, select, textarea, summary, [role=button], and an element with a
#   tabindex of its own (a scrollable region);
# - for a checkbox, radio button or file input, its label when it has one (the label is the
#   control's target: clicking it works the control), else the input itself.
# Not counted: what is not rendered (no box, hidden, inside a closed <details> or dialog),
# and inputs drawn 1x1 for screen readers (their label is measured instead).
# The inline exemption, narrowly: a link (<a>, nothing else) displayed inline, whose
# nearest block around it also holds words outside any link or control: a link in a
# sentence, whose height the line-height of the text decides (WCAG 2.5.5 "Inline").
SMALL_TARGETS = """
(minimum) => {
  const INTERACTIVE = "a[href], button, input:not([type=hidden]), select, textarea, summary, "
    + "[role=button], [tabindex]:not([tabindex='-1'])";
  const LABELLED = new Set(["checkbox", "radio", "file"]);
  const shown = (el) => {
    const box = el.getBoundingClientRect();
    if (box.width < 2 || box.height < 2) return false;
    for (let node = el; node; node = node.parentElement) {
      const style = getComputedStyle(node);
      if (style.visibility === "hidden" || style.display === "none") return false;
      if (style.opacity === "0") return false;
    }
    return box.right > 0 && box.left < document.documentElement.clientWidth;
  };
  const inSentence = (el) => {
    if (el.tagName !== "A" || getComputedStyle(el).display !== "inline") return false;
    let block = el.parentElement;
    while (block && getComputedStyle(block).display.startsWith("inline")) {
      block = block.parentElement;
    }
    if (!block) return false;
    const walker = document.createTreeWalker(block, NodeFilter.SHOW_TEXT);
    for (let text = walker.nextNode(); text; text = walker.nextNode()) {
      if (!/[\\p{L}\\p{N}]/u.test(text.data)) continue;
      if (text.parentElement.closest("a, button, select, label, summary") === null) return true;
    }
    return false;
  };
  const name = (el) => {
    const text = (el.getAttribute("aria-label") || el.textContent || el.value || el.name || "")
      .trim().replace(/\\s+/g, " ");
    return el.tagName.toLowerCase() + (el.type && el.tagName === "INPUT" ? `[type=${el.type}]` : "")
      + (el.id ? "#" + el.id : "") + [...el.classList].map((c) => "." + c).join("")
      + (text ? ` "${text.slice(0, 40)}"` : "");
  };
  const found = new Map();
  for (const el of document.querySelectorAll(INTERACTIVE)) {
    let target = el;
    if (el.tagName === "INPUT" && LABELLED.has(el.type) && el.labels && el.labels.length) {
      target = el.labels[0];
    }
    if (found.has(target) || !shown(target) || inSentence(target)) continue;
    const box = target.getBoundingClientRect();
    if (box.width + 0.5 < minimum || box.height + 0.5 < minimum) {
      found.set(target, `${name(target)} is ${Math.round(box.width)}x${Math.round(box.height)}`);
    }
  }
  return [...found.values()];
}
"""


# -- the pages ------------------------------------------------------------------------------


@dataclass
class Page:
    """A page to audit: ``path`` (or ``open(page, base_url, world)`` to get there), who may
    see it, and the status it answers with."""

    name: str
    roles: set[str]
    path: str = ""
    open: Callable | None = None
    status: int = 200
    # Whether the phone's 44px targets are asked for: not of Django's own admin, whose
    # header, links and buttons are Django's to size.
    targets: bool = True
    # Whether boxes that cut their content off are looked for: not in Django's own admin,
    # whose form rows Django lays out (its releases differ: 6.1 narrows a stacked inline's
    # rows on a phone). Sideways scrolling, axe and the CSP are checked there all the same.
    clipping: bool = True


def open_dialog(path, link_name):
    def go(page, base_url, world):
        page.goto(base_url + path)
        page.get_by_role("link", name=link_name, exact=True).first.click()
        page.locator("dialog[open]").wait_for()

    return go


def saved_replies_menu(page, base_url, world):
    page.goto(base_url + "/messages/orders/1001/bobs-bikes/")
    page.locator(".om-saved-replies__toggle").click()
    page.locator(".om-saved-replies__panel").wait_for()


def create_token(page, base_url, world):
    page.goto(base_url + "/messages/tokens/")
    page.get_by_role("textbox", name="Name").fill("Bookkeeping integration")
    page.get_by_role("button", name="Create token").click()
    page.get_by_test_id("new-token").wait_for()


def follow_guest_link(page, base_url, world):
    page.goto(base_url + world["guest_link"])
    page.wait_for_url(re.compile(r"/messages/orders/1006/"))


def open_guest_thread(page, base_url, world):
    follow_guest_link(page, base_url, world)
    page.goto(base_url + "/messages/orders/1006/daves-outdoor/")


def unreadable_form(page, base_url, world):
    """A form sent in Latin-1, not UTF-8: the refusal page (400)."""
    page.goto(base_url + "/messages/orders/1002/bobs-bikes/")
    token = page.locator("input[name=csrfmiddlewaretoken]").first.input_value()
    with page.expect_navigation():
        page.evaluate(
            """([action, token]) => {
                const form = document.createElement("form");
                form.method = "post"; form.action = action; form.acceptCharset = "ISO-8859-1";
                const fields = [["csrfmiddlewaretoken", token], ["body", "Caf\u00e9"]];
                for (const [name, value] of fields) {
                    const input = document.createElement("input");
                    input.type = "hidden"; input.name = name; input.value = value;
                    form.append(input);
                }
                document.body.append(form);
                form.submit();
            }""",
            [base_url + "/messages/orders/1002/bobs-bikes/", token],
        )


def database_down(page, base_url, world):
    """The page the app answers with while the database cannot be reached (503)."""
    from django.db import OperationalError

    from order_messages import queries

    def unreachable(**kwargs):
        raise OperationalError("could not connect to server")

    original = queries.access_order
    queries.access_order = unreachable  # the live server runs in this process
    try:
        page.goto(base_url + "/messages/orders/1001/")
    finally:
        queries.access_order = original
    # A key press stops the page's own reload, which would leave this page mid-audit.
    page.keyboard.press("Shift")


def in_german(path):
    def go(page, base_url, world):
        page.context.add_cookies([{"name": "django_language", "value": "de", "url": base_url}])
        try:
            page.goto(base_url + path)
        finally:
            page.context.clear_cookies(name="django_language")

    return go


def mailbox_opened(page, base_url, world):
    page.goto(base_url + "/demo/mailbox/")
    # Everything a reader can unfold: the headers, the reply form, the HTML version.
    for summary in page.locator("article.mail details > summary").all()[:6]:
        summary.click()


PAGES = [
    Page("shop", {*PEOPLE, "guest"}, "/"),
    Page("login", {"guest"}, "/accounts/login/"),
    Page("my orders", CUSTOMERS, "/orders/"),
    Page("my orders, in German", {"alice"}, open=in_german("/orders/")),
    Page("order in the shop", {"alice"}, "/orders/1001/"),
    Page("messages tab (inbox)", CUSTOMERS, "/messages/"),
    Page("order page", {"alice"}, "/messages/orders/1001/"),
    Page("order page", {"carol"}, "/messages/orders/1005/"),
    Page("thread, customer tab, dispute open", {"alice"}, "/messages/orders/1001/bobs-bikes/"),
    Page("thread, customer tab", {"alice"}, "/messages/orders/1001/daves-outdoor/"),
    Page("thread, store tab", {"alice"}, "/messages/orders/1001/store/"),
    Page(
        "thread, open-dispute dialog",
        {"alice"},
        open=open_dialog("/messages/orders/1001/daves-outdoor/", "Open dispute"),
    ),
    Page("thread, customer tab", {"carol"}, "/messages/orders/1005/daves-outdoor/"),
    Page("back office list", BACK_OFFICE, "/messages/"),
    Page("back office orders", BACK_OFFICE, "/messages/orders/"),
    Page("back office search", BACK_OFFICE, "/messages/?q=helmet"),
    Page("back office filter: unread", BACK_OFFICE, "/messages/?show=unread"),
    Page("back office filter: awaiting reply", BACK_OFFICE, "/messages/?show=awaiting"),
    Page("back office filter: open disputes", BACK_OFFICE, "/messages/?show=disputes"),
    Page("thread, vendor tab, dispute open", {"bob", "admin"}, "/messages/orders/1001/bobs-bikes/"),
    Page("thread, vendor tab", {"dave", "admin"}, "/messages/orders/1001/daves-outdoor/"),
    Page("thread, store tab", {"admin"}, "/messages/orders/1001/store/"),
    Page("thread, saved replies menu open", {"bob"}, open=saved_replies_menu),
    Page(
        "thread, close-dispute dialog",
        {"admin"},
        open=open_dialog("/messages/orders/1001/bobs-bikes/", "Close dispute"),
    ),
    Page("dashboard", {"admin"}, "/messages/dashboard/"),
    Page("vendor dashboard", {"bob", "admin"}, "/messages/dashboard/vendors/bobs-bikes/"),
    Page("vendor dashboard", {"dave"}, "/messages/dashboard/vendors/daves-outdoor/"),
    Page("saved replies", BACK_OFFICE, "/messages/replies/"),
    Page("e-mail preferences", PEOPLE, "/messages/preferences/"),
    Page("API tokens", PEOPLE, "/messages/tokens/"),
    Page("API tokens, a token just created", {"alice", "bob"}, open=create_token),
    Page("refused form (not UTF-8)", {"alice"}, open=unreadable_form, status=400),
    Page("guest: order page", {"guest"}, open=follow_guest_link),
    Page("guest: thread", {"guest"}, open=open_guest_thread),
    Page("guest link invalid", {"guest"}, "/messages/guest/not-a-token/", status=404),
    Page("file link invalid", {"guest"}, "/messages/files/mail/not-a-token/", status=404),
    Page("unsubscribe", {"guest"}, open=lambda p, b, w: p.goto(b + w["unsubscribe"])),
    Page("database unavailable", {"guest"}, open=database_down, status=503),
    Page("demo mailbox", {"guest", "alice"}, open=mailbox_opened),
    Page(
        "admin: conversation",
        {"admin"},
        open=lambda p, b, w: p.goto(b + w["admin_change"]),
        targets=False,
        clipping=False,
    ),
]


# -- the world the pages show -------------------------------------------------------------


@pytest.fixture
def world(transactional_db, demo, post, dispute, mailoutbox):
    """Three sellers on Alice's order #1001, unread answers on both sides, an open dispute,
    Carol's question, and the e-mails all this sent (in the demo mailbox)."""
    from demo.mailbox.models import DemoEmail
    from order_messages.adapter import get_adapter
    from order_messages.guest import make_guest_token
    from order_messages.models import Conversation
    from order_messages.notifications.tokens import make_unsubscribe_token

    store_tab = [s.vendor_key for s in get_adapter().get_order("1001").sub_orders][-1]
    assert store_tab == "store", "the audit's paths name the store's tab 'store'"
    post("alice", "1001", "bobs-bikes", "Hello Bob, the helmet in order 1001 has not arrived.")
    post("bob", "1001", "bobs-bikes", "Hi Alice, it left our workshop today.")
    dispute.open("alice", "1001", "bobs-bikes", "The helmet arrived with a cracked shell.")
    post("bob", "1001", "bobs-bikes", "We are sorry: a new one is on its way.")
    post("alice", "1001", "daves-outdoor", "Does the tent come with pegs?")
    post("dave", "1001", "daves-outdoor", "Yes, twelve of them, and a spare guy line.")
    post("alice", "1001", "store", "Can I pay the water bottles by invoice?")
    post("carol", "1005", "daves-outdoor", "Is the camping stove compatible with gas cartridges?")
    deliver_notifications()
    for email in mailoutbox:
        DemoEmail.record(email)
    assert DemoEmail.objects.exclude(html="").exists()
    conversation = Conversation.objects.get(order_number="1001", vendor_key="bobs-bikes")
    order = get_adapter().get_order("1006")
    assert guest_grant("1006")
    return {
        "guest_link": f"/messages/guest/{make_guest_token(order)}/",
        "unsubscribe": "/messages/unsubscribe/{}/".format(
            make_unsubscribe_token(conversation_id=conversation.pk, email="alice@customers.example")
        ),
        "admin_change": f"/admin/order_messages/conversation/{conversation.pk}/change/",
    }


# -- the audit ----------------------------------------------------------------------------


def audit_page(page, *, where: str, viewport: dict, spec: Page, problems: list, axe) -> None:
    width = viewport["width"]
    found = [f"CSP violation: {v}" for v in page.evaluate("window.__cspViolations || []")]
    overflow = page.evaluate(OVERFLOW)
    if overflow:
        found.append(
            f"scrolls sideways: {overflow['scrollWidth']}px wide in {overflow['clientWidth']}px"
            f" (sticking out: {', '.join(overflow['culprits']) or 'nothing found'})"
        )
    for clipped in page.evaluate(CLIPPED) if spec.clipping else ():
        found.append(f"content cut off: {clipped}")
    if width in AXE_WIDTHS:
        # The e-mail preview frames are sandboxed without scripts: axe cannot enter them
        # (and would wait for them), so it checks the page around them.
        results = axe.run(page, options=AXE_OPTIONS)
        for violation in results.response["violations"]:
            if violation["impact"] in SERIOUS:
                targets = "; ".join(" ".join(n["target"]) for n in violation["nodes"][:3])
                more = len(violation["nodes"]) - 3
                found.append(
                    f"axe {violation['impact']} {violation['id']}: {violation['help']} -- {targets}"
                    + (f" (and {more} more)" if more > 0 else "")
                )
    if width < DESKTOP["width"] and spec.targets:
        for small in page.evaluate(SMALL_TARGETS, TARGET):
            found.append(f"target under {TARGET}x{TARGET}: {small}")
    problems.extend(f"[{where} @ {width}px] {spec.name}: {what}" for what in found)


def console_line(message) -> str:
    where = message.location.get("url", "")
    if where:
        where = f" (at {where}:{message.location.get('lineNumber', 0)})"
    return message.text + where


def test_audit(role, world, browser, live_server):
    from axe_playwright_python.sync_playwright import Axe
    from playwright.sync_api import expect

    from tests.browser.conftest import PASSWORD

    axe = Axe()
    base_url = live_server.url
    context = browser.new_context(base_url=base_url, viewport=DESKTOP, locale="en-US")
    context.set_default_timeout(10_000)
    context.add_init_script(RECORD_CSP)
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(console_line(m)) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(f"uncaught {e.name}: {e.message}"))
    if role != "guest":
        page.goto(base_url + "/accounts/login/")
        page.locator("#id_username").fill(role)
        page.locator("#id_password").fill(PASSWORD)
        page.get_by_role("button", name="Log in").click()
        expect(page.get_by_test_id("messages-icon")).to_be_visible()

    problems: list[str] = []
    for spec in [p for p in PAGES if role in p.roles and ONLY in p.name]:
        for viewport in WIDTHS:
            errors.clear()
            page.set_viewport_size(viewport)
            response = None

            def remember(r, spec_page=page):
                nonlocal response
                if r.request.is_navigation_request() and r.frame == spec_page.main_frame:
                    response = r

            page.on("response", remember)
            if spec.open:
                spec.open(page, base_url, world)
            else:
                page.goto(base_url + spec.path)
            page.wait_for_load_state("load")
            page.remove_listener("response", remember)
            where = f"{role} {page.url.removeprefix(base_url)}"
            if response is not None and response.status != spec.status:
                problems.append(f"[{where}] {spec.name}: answered {response.status}")
            page.wait_for_timeout(50)  # errors of scripts that run just after "load"
            loading_errors = list(errors)
            audit_page(page, where=where, viewport=viewport, spec=spec, problems=problems, axe=axe)
            # axe-core adds style elements of its own as it measures some pages, which the
            # policy rightly refuses: what it logs while it runs is not the page's.
            later = [e for e in errors[len(loading_errors) :] if "Content Security" not in e]
            # The refusal pages answer 4xx/5xx on purpose; the browser logs that as an error.
            expected = f"status of {spec.status}" if spec.status != 200 else None
            for error in loading_errors + later:
                if expected and "Failed to load resource" in error and expected in error:
                    continue
                problems.append(f"[{where} @ {viewport['width']}px] {spec.name}: console: {error}")
    context.close()
    # The same finding on many e-mails or rows is one line, with how often it was seen.
    counted = Counter(problems)
    lines = [line + (f" (x{counted[line]})" if counted[line] > 1 else "") for line in counted]
    assert not lines, f"{len(lines)} problems:\n" + "\n".join(lines)


@pytest.fixture(params=ROLES)
def role(request):
    return request.param
