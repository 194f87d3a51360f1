"""The back-office dashboard (B3): counters, newly opened and escalated disputes, how fast
each seller answers, the last 30 days; and one seller's page of response figures."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import render
from django.urls import NoReverseMatch, reverse
from django.views.decorators.http import require_GET

from .. import actions, queries
from ..charts import daily_chart, response_chart
from ..conf import app_settings


def _admin_url(model: str, query: str) -> str:
    """The admin's list of these rows, where the host project has the admin."""
    try:
        return f"{reverse(f'admin:order_messages_{model}_changelist')}?{query}"
    except NoReverseMatch:
        return ""


def response_charts(figures):
    """The trend chart of a seller's answers, wide and compact (one per screen size)."""
    return {
        "chart": response_chart(days=figures.days),
        "compact_chart": response_chart(
            days=figures.days, width=360, height=230, margin=(14, 8, 30, 48), label_every=14
        ),
    }


@login_required
@require_GET
def dashboard(request):
    """Shows the disputes opened since the last visit once, then counts them as seen."""
    scope = queries.access_backoffice(user=request.user)
    board = queries.dashboard(scope=scope, sort=request.GET.get("sort", ""))
    actions.mark_dashboard_seen(user=request.user, at=board.as_of)
    return render(
        request,
        "order_messages/dashboard.html",
        {
            "base_template": app_settings.BASE_TEMPLATE,
            "scope": scope,
            "board": board,
            "mail_problems": queries.mail_problems(scope=scope),
            "failed_url": _admin_url("notification", "status__exact=failed"),
            "unrouted_url": _admin_url("inboundmail", "status__exact=unrouted"),
            # One chart per screen size, so that its text stays readable on both.
            "chart": daily_chart(days=board.days),
            "compact_chart": daily_chart(
                days=board.days, width=360, height=250, margin=(14, 8, 30, 34), label_every=14
            ),
            # A vendor's own response figures (the store's staff get the table instead).
            "sellers": [] if board.table else [(f, response_charts(f)) for f in board.figures],
        },
    )


@login_required
@require_GET
def vendor_dashboard(request, vendor_key):
    """One seller's response figures and their trend, for the store's staff (and the
    vendor's own staff)."""
    scope = queries.access_vendor_figures(user=request.user, vendor_key=vendor_key)
    figures = queries.vendor_figures(scope=scope, vendor_key=vendor_key)
    if figures is None:
        raise Http404("No such vendor.")
    return render(
        request,
        "order_messages/vendor_dashboard.html",
        {
            "base_template": app_settings.BASE_TEMPLATE,
            "scope": scope,
            "figures": figures,
            **response_charts(figures),
        },
    )
