"""One-click unsubscribe from a conversation's e-mails, and a person's e-mail preferences
(N3)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core import signing
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from .. import actions
from ..adapter import get_adapter
from ..conf import app_settings
from ..forms import PreferencesForm
from ..models import Conversation, Mute
from ..notifications.tokens import read_unsubscribe_token
from ..queries.preferences import email_preferences, muted_page
from .bodies import check_form_post

# The page lists the latest muted conversations; the API pages through all of them.
MUTED_SHOWN = 100


# Mail clients POST "List-Unsubscribe=One-Click" without cookies (RFC 8058); the signed
# token in the URL is the authorisation, so there is no CSRF token to check.
@csrf_exempt
@require_http_methods(["GET", "POST"])
@check_form_post
def unsubscribe(request, token):
    """GET asks (link checkers follow GETs); POST mutes, or with ``undo`` unmutes."""
    try:
        conversation_id, email = read_unsubscribe_token(token)
    except signing.BadSignature:
        return render(
            request,
            "order_messages/unsubscribe.html",
            {"base_template": app_settings.BASE_TEMPLATE, "invalid": True},
            status=400,
        )
    conversation = Conversation.objects.filter(pk=conversation_id).first()
    if conversation is None:
        return render(
            request,
            "order_messages/unsubscribe.html",
            {"base_template": app_settings.BASE_TEMPLATE, "gone": True},
            status=404,
        )
    if request.method == "POST":
        if request.POST.get("List-Unsubscribe") == "One-Click":
            actions.mute_conversation(conversation=conversation, email=email)
            return HttpResponse(_("Unsubscribed."), content_type="text/plain; charset=utf-8")
        if "undo" in request.POST:
            actions.unmute_conversation(conversation=conversation, email=email)
        else:
            actions.mute_conversation(conversation=conversation, email=email)
    muted = Mute.objects.filter(conversation=conversation, email__iexact=email).exists()
    return render(
        request,
        "order_messages/unsubscribe.html",
        {
            "base_template": app_settings.BASE_TEMPLATE,
            "conversation": conversation,
            "email": email,
            "muted": muted,
            "done": request.method == "POST",
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
@check_form_post
def preferences(request):
    current = email_preferences(user=request.user)
    initial = {"frequency": current.frequency, "language": current.language}
    form = PreferencesForm(
        request.POST or None,
        initial=initial,
        default_language=get_adapter().get_user_language(request.user),
    )
    if request.method == "POST" and form.is_valid():
        actions.save_email_preferences(user=request.user, **form.cleaned_data)
        messages.success(request, _("Your e-mail preferences have been saved."))
        return redirect("order_messages:preferences")
    muted, _more = muted_page(user=request.user, size=MUTED_SHOWN)
    return render(
        request,
        "order_messages/preferences.html",
        {"base_template": app_settings.BASE_TEMPLATE, "form": form, "muted": muted},
        status=200 if request.method == "GET" or form.is_valid() else 422,
    )


@login_required
@require_POST
def unmute(request, conversation_id):
    """Unmute one of the signed-in person's conversations from the preferences page."""
    conversation = Conversation.objects.filter(pk=conversation_id).first()
    if conversation is not None and request.user.email:
        if actions.unmute_conversation(conversation=conversation, email=request.user.email):
            messages.success(
                request,
                _("E-mails about %(title)s are on again.") % {"title": conversation.title},
            )
    return redirect("order_messages:preferences")
