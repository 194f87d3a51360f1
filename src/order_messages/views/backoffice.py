"""The back office (B1): vendors' staff and store staff list, search and triage the
conversations they answer for. A conversation itself opens on the order's Messages page."""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Exists, OuterRef
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_POST

from .. import actions, queries
from ..conf import app_settings
from ..models import Participant, Role
from ..queries.backoffice import FILTERS
from .bodies import check_form_post

# "Mark all" works through at most this many conversations per click.
MARK_ALL_LIMIT = 500


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
            "filters": [
                ("all", _list_url("all", search)),
                ("unread", _list_url("unread", search)),
                ("disputes", _list_url("disputes", search)),
            ],
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
    if everything:
        conversations = queries.scoped_conversations(scope=scope, show=show, search=search)
        if not to_unread:  # only those with something unread can change
            conversations = conversations.filter(
                Exists(
                    Participant.objects.filter(
                        conversation=OuterRef("pk"), user=request.user, unread_count__gt=0
                    )
                )
            )
        conversations = conversations.order_by("-last_message_at")[:MARK_ALL_LIMIT]
    else:
        ids = [i for i in request.POST.getlist("conversation") if i.isdigit()]
        conversations = scope.conversations().filter(pk__in=ids)
    changed = 0
    for conversation in conversations:
        if to_unread:
            role = Role.VENDOR if conversation.vendor_key in scope.vendor_keys else Role.STAFF
            changed += actions.mark_unread(conversation=conversation, user=request.user, role=role)
        else:
            changed += bool(actions.mark_read(conversation=conversation, user=request.user))
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
