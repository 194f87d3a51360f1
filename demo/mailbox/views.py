"""The demo mailbox (demo settings only): every e-mail the app sent (its notifications; not
the store's account e-mails, see mail.py), and a way to answer one as a mail client would,
so that reply by e-mail can be tried without a mail server."""

from email.message import EmailMessage
from email.utils import format_datetime, getaddresses, make_msgid

from csp.constants import NONE, SELF, UNSAFE_INLINE
from csp.decorators import csp
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.clickjacking import xframe_options_sameorigin
from django.views.decorators.http import require_POST

from order_messages.adapter import get_adapter
from order_messages.conf import app_settings
from order_messages.notifications.inbound import RateLimited, receive

from .models import DemoEmail


def mailbox(request):
    """Every notification e-mail the app sent, newest first."""
    page = Paginator(DemoEmail.objects.all(), 25).get_page(request.GET.get("page"))
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
# the mailbox page under a policy of its own that allows those styles and nothing else.
EMAIL_HTML_POLICY = {
    "default-src": [NONE],
    "style-src": [UNSAFE_INLINE],
    "img-src": ["data:"],
    "base-uri": [NONE],
    "form-action": [NONE],
    "frame-ancestors": [SELF],
    "sandbox": [""],
}


@xframe_options_sameorigin
@csp(EMAIL_HTML_POLICY)
def html(request, pk):
    """The e-mail's HTML part, for the mailbox page's preview frame."""
    email = get_object_or_404(DemoEmail, pk=pk)
    return HttpResponse(email.html, content_type="text/html; charset=utf-8")


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
