"""The demo store's webhook receiver (demo settings only): it checks the signature as
docs/webhooks.md tells a store to, and shows what arrived."""

import hmac
import json
import time

from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from order_messages.models import WebhookEndpoint
from order_messages.webhooks.delivery import sign

from .models import DemoWebhook

DESCRIPTION = "Demo store receiver"
TOLERANCE = 300


def signature_valid(secret: str, headers, body: bytes) -> bool:
    try:
        timestamp = int(headers["Webhook-Timestamp"])
    except (KeyError, TypeError, ValueError):
        return False
    if abs(time.time() - timestamp) > TOLERANCE:
        return False
    expected = sign(secret=secret, timestamp=timestamp, body=body)
    return any(
        hmac.compare_digest(expected, s) for s in headers.get("Webhook-Signature", "").split()
    )


@csrf_exempt
@require_POST
def receive(request):
    endpoint = WebhookEndpoint.objects.filter(description=DESCRIPTION).first()
    valid = endpoint is not None and signature_valid(endpoint.secret, request.headers, request.body)
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
