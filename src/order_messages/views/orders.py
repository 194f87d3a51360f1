"""The back office's orders: a vendor's staff find an order of theirs and write to its
customer; the store's staff do so for any order."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.views.decorators.http import require_GET

from .. import queries
from ..conf import app_settings


@login_required
@require_GET
def order_list(request):
    scope = queries.access_backoffice(user=request.user)
    try:
        number = int(request.GET.get("page", "1"))
    except ValueError:
        number = 1
    page = queries.backoffice_orders(scope=scope, page=number)
    return render(
        request,
        "order_messages/backoffice/orders.html",
        {"base_template": app_settings.BASE_TEMPLATE, "scope": scope, "page": page},
    )
