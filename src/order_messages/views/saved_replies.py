"""The saved-replies page: vendors' staff and store staff keep the replies they insert into
the composer; store staff also the shared ones everyone answering customers may use."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST

from .. import actions, queries
from ..actions.saved_replies import TITLE_LENGTH
from ..conf import app_settings
from ..errors import OrderMessagesError, http_status
from ..queries.saved_replies import PLACEHOLDERS
from .bodies import check_form_post

INVALID = 422


class SavedReplyForm(forms.Form):
    # Only the shape of the input here; the action checks the text (its length, blank
    # text) so the page and the API refuse the same things with the same words.
    title = forms.CharField(label=gettext_lazy("Title"), required=False, strip=False)
    body = forms.CharField(
        label=gettext_lazy("Text"), required=False, strip=False, widget=forms.Textarea
    )
    shared = forms.BooleanField(
        label=gettext_lazy("Shared: every vendor's staff and the store's staff may use it"),
        required=False,
    )


@login_required
@require_http_methods(["GET", "POST"])
@check_form_post
def saved_replies(request):
    """The list, and a form for a new reply."""
    scope = queries.access_backoffice(user=request.user)
    return _page(request, scope=scope, reply=None)


@login_required
@require_http_methods(["GET", "POST"])
@check_form_post
def edit_saved_reply(request, reply_id):
    """The list, and the form filled with one reply to change."""
    scope = queries.access_backoffice(user=request.user)
    reply = queries.access_saved_reply(scope=scope, reply_id=reply_id)
    return _page(request, scope=scope, reply=reply)


@login_required
@require_POST
def delete_saved_reply(request, reply_id):
    scope = queries.access_backoffice(user=request.user)
    reply = queries.access_saved_reply(scope=scope, reply_id=reply_id)
    actions.delete_saved_reply(reply=reply)
    messages.success(
        request, _("The saved reply “%(title)s” was deleted.") % {"title": reply.title}
    )
    return redirect("order_messages:saved_replies")


def _page(request, *, scope, reply):
    initial = None
    if reply is not None:
        initial = {"title": reply.title, "body": reply.body, "shared": reply.shared}
    form = SavedReplyForm(request.POST if request.method == "POST" else None, initial=initial)
    status = 200
    if request.method == "POST" and form.is_valid():
        fields = form.cleaned_data
        try:
            if reply is None:
                saved = actions.create_saved_reply(scope=scope, **fields)
            else:
                saved = actions.update_saved_reply(scope=scope, reply=reply, **fields)
        except OrderMessagesError as error:
            # Shown beside the field it is about, with everything typed kept in the form.
            form.add_error(getattr(error, "field", None), error)
            status = http_status(error)
        except PermissionDenied as denied:  # sharing, for someone who may not
            form.add_error(None, str(denied))
            status = 403
        else:
            messages.success(
                request, _("The saved reply “%(title)s” was saved.") % {"title": saved.title}
            )
            return redirect("order_messages:saved_replies")
    if form.errors and status == 200:
        status = INVALID
    return render(
        request,
        "order_messages/saved_replies.html",
        {
            "base_template": app_settings.BASE_TEMPLATE,
            "scope": scope,
            "page": queries.saved_replies_page(scope=scope),
            "form": form,
            "editing": reply,
            "may_share": queries.may_share_replies(scope),
            "title_length": TITLE_LENGTH,
            "body_length": app_settings.MAX_MESSAGE_LENGTH,
            "placeholders": [f"{{{name}}}" for name in PLACEHOLDERS],
        },
        status=status,
    )
