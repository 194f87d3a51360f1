"""Personal API tokens (A1): a person makes a token for an app or integration, sees it
once, and revokes it when it is no longer needed."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from .. import actions
from ..api.tokens import active_tokens
from ..conf import app_settings
from .bodies import check_form_post


class TokenForm(forms.Form):
    name = forms.CharField(
        label=gettext_lazy("Name"),
        max_length=100,
        help_text=gettext_lazy("What the token is for, e.g. “Phone app” or “Shop sync”."),
    )


# The session key that carries a new token from the form's POST to the page after it.
NEW_TOKEN_KEY = "order_messages_new_token"


@never_cache  # the page shows a new token once; it must not be kept in a cache
@login_required
@require_http_methods(["GET", "POST"])
@check_form_post
def tokens(request):
    """Post/Redirect/Get: a token made by the form is shown on the page the browser is sent
    to, so that reloading that page asks for it again instead of making a second token."""
    form = TokenForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        _row, token = actions.create_token(user=request.user, name=form.cleaned_data["name"])
        # Never in the address (it would end up in the history and in logs). The session
        # holds it only until the next page shows it; the token's own row keeps its hash.
        request.session[NEW_TOKEN_KEY] = token
        return redirect("order_messages:tokens")
    return render(
        request,
        "order_messages/tokens.html",
        {
            "base_template": app_settings.BASE_TEMPLATE,
            "form": form,
            "new_token": request.session.pop(NEW_TOKEN_KEY, None),
            "tokens": active_tokens(user=request.user),
        },
        status=422 if form.errors else 200,
    )


@login_required
@require_POST
def revoke(request, token_id):
    if not actions.revoke_token(user=request.user, token_id=token_id):
        raise Http404("No such token.")
    messages.success(request, _("The token has been revoked. Apps using it are logged out."))
    return redirect("order_messages:tokens")
