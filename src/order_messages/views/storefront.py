"""The order's Messages page (customers, and vendors and staff reading a thread), the
customer's inbox, guest links and the badge."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core import signing
from django.http import Http404, HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from .. import actions, queries
from ..actions.attachments import check_file_count
from ..conf import app_settings
from ..errors import (
    AttachmentUnavailable,
    DisputeAlreadyOpen,
    InvalidChoice,
    InvalidTransition,
    OrderMessagesError,
    OutcomeRequired,
    http_status,
)
from ..forms import CloseDisputeForm, DisputeForm, MessageForm
from ..guest import guest_orders, read_guest_token, remember_guest_order
from ..queries.threads import dispute_history
from ..ratelimit import limit_posting
from ..templatetags.order_messages import icon_html
from . import backoffice
from .access import htmx, link_refused, login_if_anonymous
from .attachments import attachment_rules, upload_files
from .bodies import check_form_post

# Sent by the page's script when it reloads the conversation for a live event.
LIVE_RELOAD = "X-Order-Messages-Live"

# A form with errors: htmx is configured to swap it in (and the other refusals of
# errors.http_status), so the composer shows why.
INVALID = 422


def _access(request, number):
    return queries.access_order(
        user=request.user, order_number=number, guests=guest_orders(request.session)
    )


def _thread_url(number, vendor_key):
    return reverse("order_messages:thread", kwargs={"number": number, "vendor_key": vendor_key})


@login_required
@require_GET
def inbox(request):
    """S4: all the user's conversations, unread first, then newest. Vendors' staff and store
    staff get the back office here, so the header icon leads everyone to their messages."""
    if queries.in_backoffice(request.user):
        return backoffice.conversation_list(request)
    page = queries.inbox_page(user=request.user, cursor=request.GET.get("after"))
    for number in page.stale_orders:  # the store changed them without telling us
        actions.update_order_access(order_number=number)
    return render(
        request,
        "order_messages/inbox.html",
        {"page": page, "base_template": app_settings.BASE_TEMPLATE},
    )


@login_if_anonymous
@require_GET
def order(request, number):
    """An order's Messages page opens on its first tab with unread messages."""
    access = _access(request, number)
    tabs = queries.order_tabs(access=access)
    tab = next((t for t in tabs if t.unread), tabs[0])
    return redirect(_thread_url(number, tab.vendor_key))


@login_if_anonymous
@require_http_methods(["GET", "POST"])
@check_form_post(files="files")
def thread(request, number, vendor_key):
    """S3: the tabs of an order, one conversation's thread and the composer."""
    access = _access(request, number)
    sub_order = access.sub_order(vendor_key)
    form = MessageForm(request.POST if request.method == "POST" else None)
    status, retry_after, pending = 200, None, []
    if request.method == "POST":
        if form.is_valid():
            actor = access.actor_in(sub_order)
            try:
                pending, refused = _attachments(request, access, sub_order)
                if refused is not None:
                    raise refused
                message = actions.post_message(
                    order=access.order,
                    sub_order=sub_order,
                    actor=actor,
                    body=form.cleaned_data["body"],
                    attachments=[a.pk for a in pending],
                    limit_rate=True,
                )
            except OrderMessagesError as error:
                form.add_error("body", error)
                status = http_status(error)
                retry_after = getattr(error, "retry_after", None)
            else:
                url = f"{_thread_url(number, vendor_key)}#m-{message.seq}"
                if not htmx(request):
                    return redirect(url)
                form, pending = MessageForm(), []
        if form.errors and status == 200:
            status = INVALID

    tabs = queries.order_tabs(access=access)
    if queries.customer_left_out(access=access, tabs=tabs):
        actions.update_order_access(order_number=access.order.number)
        tabs = queries.order_tabs(access=access)
    tab = next(t for t in tabs if t.vendor_key == vendor_key)
    page = None
    if tab.conversation is not None:
        try:
            start = int(request.GET["from"]) if "from" in request.GET else None
        except ValueError:
            start = None
        page = queries.thread_page(
            conversation=tab.conversation, last_read_seq=tab.last_read_seq, start=start
        )
        # Opening the page is reading what it shows. A live update (order_messages.js)
        # is not: the page reports what was on screen in a visible tab (``read``).
        opened = request.method == "GET" and request.headers.get(LIVE_RELOAD) != "1"
        if tab.unread and access.user is not None and opened:
            read = actions.mark_read(
                conversation=tab.conversation, user=access.user, up_to_seq=page.last_shown_seq
            )
            if hasattr(request, "_order_messages_unread"):  # a badge count read before marking
                request._order_messages_unread = max(0, request._order_messages_unread - read)
            tab.unread = max(0, tab.unread - read)  # those after the page stay unread
            tab.last_read_seq = max(tab.last_read_seq, page.last_shown_seq)
    context = {
        "base_template": app_settings.BASE_TEMPLATE,
        "access": access,
        "order": access.order,
        "tabs": tabs,
        "tab": tab,
        "sub_order": sub_order,
        "page": page,
        "form": form,
        "pending": pending,
        "attach": attachment_rules(),
        "dispute_form": DisputeForm(auto_id="dispute-%s"),
        "close_form": CloseDisputeForm(auto_id="close-%s"),
        "disputes": dispute_history(conversation=tab.conversation),
        "role": access.role_in(sub_order),
        "may_handle_disputes": access.may_handle_disputes(sub_order),
        "may_open_dispute": access.may_open_dispute(sub_order, tab.conversation),
        "dispute_dialog": access.may_open_dispute_once_begun(sub_order),
        "may_resolve_disputes": access.may_resolve_disputes(sub_order),
        "show_customer_email": access.shows_customer_contact(sub_order),
    }
    template = "order_messages/thread.html"
    if htmx(request) and not htmx(request).boosted:
        template = "order_messages/partials/conversation.html"
    response = render(request, template, context, status=status)
    if retry_after is not None:
        response["Retry-After"] = str(retry_after)
    return response


@require_POST
@check_form_post
def read(request, number, vendor_key):
    """The thread page reports the newest message that was on screen in a visible tab
    (``seq``): messages up to it are read. Guests and those reading along have no
    unread counts; nothing to do for them is not an error."""
    access = _access(request, number)
    access.sub_order(vendor_key)  # 404 for a conversation this person may not read
    try:
        seq = int(request.POST.get("seq", ""))
    except ValueError:
        return HttpResponseBadRequest("seq: a message number")
    tab = next(t for t in queries.order_tabs(access=access) if t.vendor_key == vendor_key)
    if tab.conversation is not None and access.user is not None and seq > tab.last_read_seq:
        actions.mark_read(
            conversation=tab.conversation,
            user=access.user,
            up_to_seq=min(seq, tab.conversation.last_seq),  # no further than there is
        )
    return HttpResponse(status=204)


def _attachments(request, access, sub_order):
    """The files to send with a form, and the first refusal among them: those the
    composer's script uploaded already (their ids), then those a browser without it sent
    along. Files stored before a refusal stay uploaded and are shown in the form again,
    so nothing has to be chosen twice."""
    asked = set(request.POST.getlist("attachments"))
    files = request.FILES.getlist("files")
    try:
        check_file_count(len(asked) + len(files))  # before any of them is stored
    except OrderMessagesError as error:
        return [], error
    waiting = queries.pending_uploads(
        order_number=access.order.number,
        vendor_key=sub_order.vendor_key,
        actor=access.actor_in(sub_order),
        ids=asked,
    )
    uploaded, refused = upload_files(access=access, sub_order=sub_order, files=files)
    if len(waiting) != len(asked) and refused is None:
        refused = AttachmentUnavailable()  # removed meanwhile, or never this person's
    return waiting + uploaded, refused


@login_if_anonymous
@require_http_methods(["GET", "POST"])
@check_form_post(files="files")
def open_dispute(request, number, vendor_key):
    """S7: the pop-up posts here; without JavaScript, GET shows the same form as a page."""
    access = _access(request, number)
    sub_order = access.sub_order(vendor_key)
    tab = next(t for t in queries.order_tabs(access=access) if t.vendor_key == vendor_key)
    try:
        queries.check_may_open_dispute(
            viewer=access, sub_order=sub_order, conversation=tab.conversation
        )
    except InvalidTransition as error:  # not yet: the thread says why, its composer waits
        messages.error(request, error.message)
        return redirect(_thread_url(number, vendor_key))
    form = DisputeForm(request.POST if request.method == "POST" else None, auto_id="dispute-%s")
    status, retry_after, pending = INVALID, None, []
    if request.method == "POST" and form.is_valid():
        actor = access.actor_in(sub_order)
        try:
            pending, refused = _attachments(request, access, sub_order)
            if refused is not None:
                raise refused
            with limit_posting(actor=actor, order_number=access.order.number):
                actions.open_dispute(
                    order=access.order,
                    sub_order=sub_order,
                    actor=actor,
                    reason=form.cleaned_data["reason"],
                    reason_code=form.cleaned_data["reason_code"],
                    requested=form.cleaned_data["requested"],
                    attachments=[a.pk for a in pending],
                )
        except DisputeAlreadyOpen as error:
            messages.error(request, error.message)
            return redirect(_thread_url(number, vendor_key))
        except OrderMessagesError as error:
            # A choice refused is about the lists above the text, the rest about the text.
            form.add_error(None if isinstance(error, InvalidChoice) else "reason", error)
            status = http_status(error)
            retry_after = getattr(error, "retry_after", None)
        else:
            messages.success(request, _("A dispute has been opened successfully."))
            return redirect(_thread_url(number, vendor_key))
    response = render(
        request,
        "order_messages/open_dispute.html",
        {
            "base_template": app_settings.BASE_TEMPLATE,
            "order": access.order,
            "sub_order": sub_order,
            "dispute_form": form,
            "pending": pending,
            "attach": attachment_rules(),
            "role": access.role_in(sub_order),
        },
        status=status if form.errors else 200,
    )
    if retry_after:
        response["Retry-After"] = str(retry_after)
    return response


@login_if_anonymous
@require_http_methods(["GET", "POST"])
@check_form_post
def close_dispute(request, number, vendor_key):
    """S8: close after a confirmation (the pop-up, or this page without JavaScript). Store
    staff resolve with an outcome and a note; a customer withdraws their dispute."""
    access = _access(request, number)
    sub_order = access.sub_order(vendor_key)
    queries.check_may_handle_disputes(viewer=access, sub_order=sub_order)
    tab = next(t for t in queries.order_tabs(access=access) if t.vendor_key == vendor_key)
    dispute = tab.conversation and tab.conversation.open_dispute
    resolves = access.may_resolve_disputes(sub_order)
    form = CloseDisputeForm(request.POST if request.method == "POST" else None, auto_id="close-%s")
    status, retry_after = 200, None
    if request.method == "POST" and form.is_valid():
        try:
            closed = dispute is not None and actions.close_dispute(
                conversation=tab.conversation,
                actor=access.actor_in(sub_order),
                outcome=form.cleaned_data["outcome"] if resolves else None,
                note=form.cleaned_data["note"] if resolves else "",
            )
        except OrderMessagesError as error:
            field = "outcome" if isinstance(error, (OutcomeRequired, InvalidChoice)) else None
            form.add_error(field, error)
            status = http_status(error)
            retry_after = getattr(error, "retry_after", None)
        else:
            if closed and resolves:
                messages.success(request, _("The dispute has been resolved."))
            elif closed:
                messages.success(request, _("The dispute has been closed."))
            return redirect(_thread_url(number, vendor_key))
    if form.errors and status == 200:
        status = INVALID
    response = render(
        request,
        "order_messages/close_dispute.html",
        {
            "base_template": app_settings.BASE_TEMPLATE,
            "order": access.order,
            "sub_order": sub_order,
            "tab": tab,
            "dispute": dispute,
            "close_form": form,
            "may_resolve_disputes": resolves,
        },
        status=status,
    )
    if retry_after:
        response["Retry-After"] = str(retry_after)
    return response


@require_GET
def guest(request, token):
    """S10: a signed link from an e-mail gives a guest this order's messages."""
    try:
        number, email = read_guest_token(token)
        # The link is for the address it was sent to, while the order still names it.
        queries.access_order(user=None, order_number=number, guests={number: email})
    except (signing.BadSignature, Http404) as refused:
        return link_refused(request, refused, template="order_messages/guest_link_invalid.html")
    if guest_orders(request.session).get(number) != email:
        # New access under a new session key, so a session id planted before the link was
        # followed (session fixation) does not get the order too.
        request.session.cycle_key()
    remember_guest_order(request.session, number, email)
    return redirect(reverse("order_messages:order", kwargs={"number": number}))


@require_GET
def badge(request):
    """The header icon alone, for polling where live updates are unavailable."""
    return HttpResponse(icon_html(request))
