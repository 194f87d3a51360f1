"""The demo store's webhook receiver (demo settings only): it checks the Standard Webhooks
signature as docs/webhooks.md tells a store to, and shows what arrived."""

import json

from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from order_messages.models import WebhookEndpoint
from order_messages.webhooks.signing import verify_webhook

from .models import DemoWebhook

DESCRIPTION = "Demo store receiver"


@csrf_exempt
@require_POST
def receive(request):
    endpoint = WebhookEndpoint.objects.filter(description=DESCRIPTION).first()
    valid = endpoint is not None and verify_webhook(endpoint.secret, request.headers, request.body)
    try:
        event_type = json.loads(request.body).get("type", "")
    except (ValueError, AttributeError):
        event_type = ""
    DemoWebhook.objects.create(
        event_type=str(event_type)[:40],
        headers="\n".join(
            f"{name}: {value}"
            for name, value in request.headers.items()
            if name.startswith("Webhook")
        ),
        body=request.body.decode("utf-8", "replace"),
        signature_valid=valid,
    )
    return HttpResponse(status=204 if valid else 400)


def inbox(request):
    page = Paginator(DemoWebhook.objects.all(), 25).get_page(request.GET.get("page"))
    return render(request, "demo/webhooks.html", {"page": page})
