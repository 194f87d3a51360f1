"""Webhooks in the Standard Webhooks format, to public destinations only.

Secrets become "whsec_" and the base64 of the key. An existing secret keeps its key: the
old signatures were keyed with the secret's UTF-8 bytes, and that is what the new form
encodes, so only the receiver's verification changes, not the key it holds. Answers of
non-2xx deliveries are no longer kept; those already logged are cleared.
"""

import base64

from django.db import migrations, models
from django.db.models import Q

import order_messages.models.integrations


def to_standard_secrets(apps, schema_editor):
    WebhookEndpoint = apps.get_model("order_messages", "WebhookEndpoint")
    for endpoint in WebhookEndpoint.objects.exclude(secret__startswith="whsec_"):
        key = endpoint.secret.encode()
        endpoint.secret = "whsec_" + base64.b64encode(key).decode()
        endpoint.save(update_fields=["secret"])
    WebhookDelivery = apps.get_model("order_messages", "WebhookDelivery")
    WebhookDelivery.objects.exclude(
        Q(response_status__gte=200) & Q(response_status__lt=300)
    ).exclude(response_excerpt="").update(response_excerpt="")


class Migration(migrations.Migration):
    dependencies = [
        ("order_messages", "0006_message_author_recent"),
    ]

    operations = [
        migrations.AlterField(
            model_name="webhookendpoint",
            name="secret",
            field=models.CharField(max_length=100),
        ),
        migrations.AlterField(
            model_name="webhookendpoint",
            name="url",
            field=models.URLField(
                max_length=500,
                validators=[order_messages.models.integrations.validate_webhook_url],
            ),
        ),
        migrations.AlterField(
            model_name="webhookdelivery",
            name="response_excerpt",
            field=models.CharField(blank=True, max_length=500, verbose_name="answer excerpt"),
        ),
        migrations.RunPython(to_standard_secrets, migrations.RunPython.noop),
    ]
