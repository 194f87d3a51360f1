"""The back office (B1): vendors' staff and store staff list, search and triage the
conversations they answer for. A conversation itself opens on the order's Messages page."""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_POST

from .. import actions, queries
from ..conf import app_settings
from ..queries.backoffice import FILTERS
from .bodies import check_form_post


def _filters(data) -> tuple[str, str]:
    show = data.get("show", "all")
    return (show if show in FILTERS else "all"), data.get("q", "")[:200]


def _list_url(show: str, search: str, after: str = "") -> str:
    pairs = (("show", "" if show == "all" else show), ("q", search), ("after", after))
    params = {key: value for key, value in pairs if value}
    url = reverse("order_messages:inbox")
    return f"{url}?{urlencode(params)}" if params else url


@login_required
@require_GET
def conversation_list(request):
    scope = queries.access_backoffice(user=request.user)
    show, search = _filters(request.GET)
    page = queries.backoffice_page(
        scope=scope, show=show, search=search, cursor=request.GET.get("after")
    )
    return render(
        request,
        "order_messages/backoffice/list.html",
        {
            "base_template": app_settings.BASE_TEMPLATE,
            "scope": scope,
            "page": page,
            "show": show,
            "search": search,
            "filters": [(name, _list_url(name, search)) for name in FILTERS],
            "next_url": page.next_cursor and _list_url(show, search, page.next_cursor),
        },
    )


@login_required
@require_POST
@check_form_post
def mark(request):
    """Mark the ticked conversations, or all in the current filter, read or unread."""
    scope = queries.access_backoffice(user=request.user)
    show, search = _filters(request.POST)
    everything = "all" in request.POST
    to_unread = (request.POST.get("all") or request.POST.get("action")) == "unread"
    ids = None if everything else [i for i in request.POST.getlist("conversation") if i.isdigit()]
    if ids == []:  # the buttons wait for a selection; without JavaScript they cannot
        messages.error(request, _("Select at least one conversation first."))
        return redirect(_list_url(show, search))
    changed = actions.mark_conversations(
        scope=scope, unread=to_unread, ids=ids, show=show, search=search
    )
    if not changed:
        messages.info(
            request,
            _("Nothing to change: they were unread already.")
            if to_unread
            else _("Nothing to change: they were read already."),
        )
        return redirect(_list_url(show, search))
    if to_unread:
        text = ngettext(
            "%(n)d conversation marked as unread.", "%(n)d conversations marked as unread.", changed
        )
    else:
        text = ngettext(
            "%(n)d conversation marked as read.", "%(n)d conversations marked as read.", changed
        )
    messages.success(request, text % {"n": changed})
    return redirect(_list_url(show, search))
