"""The demo store's webhook receiver: the demo shows signed webhooks arriving."""

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from demo.store.models import DemoWebhook
from order_messages.models import WebhookEndpoint
from order_messages.webhooks.delivery import deliver_all


@pytest.mark.django_db(transaction=True)
def test_the_demo_receives_and_verifies_its_webhooks(demo, post, live_server, settings):
    settings.ORDER_MESSAGES_SITE_URL = live_server.url
    call_command("seed_demo", "--webhook-receiver", "--no-history", verbosity=0)
    call_command("seed_demo", "--webhook-receiver", "--no-history", verbosity=0)  # idempotent
    assert WebhookEndpoint.objects.get().url == f"{live_server.url}/demo/webhooks/receive/"

    post("alice", "1003", "daves-outdoor", "Does the tent fit three?")
    report = deliver_all(now=timezone.now() + timedelta(minutes=1))

    assert report.delivered == 1
    received = DemoWebhook.objects.get()
    assert received.event_type == "message.posted" and received.signature_valid
    assert "Does the tent fit three?" in received.body
    page = Client().get("/demo/webhooks/").content.decode()
    assert "message.posted" in page and "signature valid" in page


def test_a_forged_webhook_is_recorded_as_not_valid(db):
    response = Client().post(
        "/demo/webhooks/receive/",
        data=b'{"type": "message.posted"}',
        content_type="application/json",
        headers={"Webhook-Timestamp": "1", "Webhook-Signature": "v1=00"},
    )

    assert response.status_code == 400
    assert DemoWebhook.objects.get().signature_valid is False
