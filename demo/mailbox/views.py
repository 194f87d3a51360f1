"""The demo mailbox (demo settings only): every e-mail the app sent (its notifications; not
the store's account e-mails, see mail.py), and a way to answer one as a mail client would,
so that reply by e-mail can be tried without a mail server."""

import re
from email.message import EmailMessage
from email.utils import format_datetime, getaddresses, make_msgid
from urllib.parse import urlsplit, urlunsplit

from csp.constants import NONE, SELF, UNSAFE_INLINE
from csp.decorators import csp
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import Resolver404, resolve
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy
from django.views.decorators.clickjacking import xframe_options_sameorigin
from django.views.decorators.http import require_POST

from order_messages.adapter import get_adapter
from order_messages.conf import app_settings
from order_messages.notifications.inbound import RateLimited, receive

from .models import DemoEmail

# Web addresses in an e-mail's text, up to the first space or bracket (as mail clients
# find them); a sentence's final period or comma is not part of it.
LINK = re.compile(r"https?://[^\s<>\"')\]]+[^\s<>\"')\].,;:!?]")

# What a link of the app's e-mails does, by the name of the URL it leads to.
LINK_LABELS = {
    "guest": _lazy("Open the messages (guest link)"),
    "order": _lazy("Open the messages"),
    "thread": _lazy("Open the conversation"),
    "unsubscribe": _lazy("Unsubscribe"),
    "preferences": _lazy("E-mail preferences"),
    "mailed_file": _lazy("Open the file"),
}


def links_of(text: str) -> list[tuple[str, str]]:
    """(address, label) of each distinct link in an e-mail's text, in order: one click to
    follow a guest link instead of copying it by hand."""
    site = urlsplit(app_settings.SITE_URL).netloc
    links = []
    for url in dict.fromkeys(LINK.findall(text)):
        parts = urlsplit(url)
        name = None
        if parts.netloc == site and not parts.path.startswith("//"):
            # The store's own pages are named by what they do, and open on this server
            # whatever port it runs on (SITE_URL says 8000 unless PORT is set).
            url = urlunsplit(("", "", parts.path, parts.query, parts.fragment))
            try:
                name = resolve(parts.path).url_name
            except Resolver404:
                pass
        links.append((url, str(LINK_LABELS.get(name, parts.netloc + parts.path))))
    return links


def mailbox(request):
    """Every notification e-mail the app sent, newest first."""
    page = Paginator(DemoEmail.objects.all(), 25).get_page(request.GET.get("page"))
    for email in page:
        email.links = links_of(email.text)
    return render(
        request,
        "demo/mailbox.html",
        {"page": page, "base_template": app_settings.BASE_TEMPLATE},
    )


def raw(request, pk):
    """The e-mail as an MTA would deliver it, e.g. to pipe into ``receive_email``."""
    email = get_object_or_404(DemoEmail, pk=pk)
    response = HttpResponse(email.raw, content_type="message/rfc822; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="demo-email-{pk}.eml"'
    return response


# An e-mail's HTML styles itself inline, as e-mail must; it is shown in a sandboxed frame of
# the mailbox page under a policy of its own that allows those styles and nothing else: no
# script, no form. Its links open in a new tab, outside the sandbox, as a mail client opens
# them; in the frame they would load the store's pages, which refuse to be framed. (Each
# link is given its target: a <base> element would be one more thing the pages' checks
# against injected markup must tell apart.)
EMAIL_HTML_POLICY = {
    "default-src": [NONE],
    "style-src": [UNSAFE_INLINE],
    "img-src": ["data:"],
    "base-uri": [NONE],
    "form-action": [NONE],
    "frame-ancestors": [SELF],
    "sandbox": ["allow-popups", "allow-popups-to-escape-sandbox"],
}
# The app's e-mails are made by its templates: their links are plain <a href=…> tags, and
# a message's own text is escaped in them.
LINK_TAG = re.compile(r"<a(?=\s)", re.IGNORECASE)
NEW_TAB = '<a target="_blank" rel="noopener"'


@xframe_options_sameorigin
@csp(EMAIL_HTML_POLICY)
def html(request, pk):
    """The e-mail's HTML part, for the mailbox page's preview frame."""
    email = get_object_or_404(DemoEmail, pk=pk)
    page = LINK_TAG.sub(NEW_TAB, email.html)
    return HttpResponse(page, content_type="text/html; charset=utf-8")


def compose_reply(email: DemoEmail, text: str) -> bytes:
    """A reply written the way Gmail writes one: new text on top, the e-mail quoted below."""
    sender = getaddresses([email.to])[0][1]
    reply = EmailMessage()
    reply["From"] = sender
    reply["To"] = email.reply_to
    reply["Subject"] = "Re: " + email.subject
    reply["Date"] = format_datetime(timezone.now())
    reply["Message-ID"] = make_msgid(domain="mail.customers.example")
    if email.message_id:
        reply["In-Reply-To"] = email.message_id
        reply["References"] = email.message_id
    sent = format_datetime(email.sent_at)
    quoted = "\n".join(f"> {line}" if line else ">" for line in email.text.splitlines())
    store = get_adapter().get_store_name()
    reply.set_content(f"{text}\n\nOn {sent}, {store} wrote:\n{quoted}\n")
    return reply.as_bytes()


@require_POST
def answer(request, pk):
    """Send a reply to the e-mail's Reply-To address through the inbound mail handler."""
    email = get_object_or_404(DemoEmail, pk=pk)
    text = request.POST.get("text", "").strip()
    if not email.reply_to or not text:
        messages.error(request, _("Write a reply first."))
        return redirect("demo_mailbox")
    try:
        outcome = receive(compose_reply(email, text))
    except RateLimited:
        messages.error(request, _("Too many replies from this address; try again later."))
        return redirect("demo_mailbox")
    if outcome.status == "posted":
        messages.success(request, _("Your reply was posted in the conversation."))
    else:
        messages.error(
            request,
            _("Your reply was not posted (%(reason)s).") % {"reason": outcome.reason},
        )
    return redirect("demo_mailbox")
