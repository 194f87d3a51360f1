"""Tables for apps and integrations: personal API tokens, idempotent requests (A1), and
outgoing webhooks with their delivery log (A3)."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class ApiToken(models.Model):
    """A personal token for the API. Only its SHA-256 is stored; the token itself is shown
    once, when it is created."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    name = models.CharField(max_length=100)
    # The first characters, so a person can tell their tokens apart.
    prefix = models.CharField(max_length=12)
    digest = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")

    def __str__(self):
        return f"{self.name} ({self.prefix}…)"


class IdempotentRequest(models.Model):
    """The answer to a request sent with an ``Idempotency-Key``, replayed when the same key
    comes again."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=255)
    # What was asked (method, path, body): the same key with another request is an error.
    fingerprint = models.CharField(max_length=64)
    status_code = models.PositiveSmallIntegerField()
    body = models.JSONField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "key"], name="om_one_request_per_key")
        ]
        verbose_name = _("idempotent request")
        verbose_name_plural = _("idempotent requests")

    def __str__(self):
        return f"{self.user_id}: {self.key}"


def validate_webhook_url(url: str) -> None:
    """Refuse a URL on the store's own network (see ``webhooks/destinations.py``)."""
    # Imported here: the webhooks package imports these models.
    from ..webhooks.destinations import validate_webhook_url as validate

    validate(url)


class WebhookEndpoint(models.Model):
    """A URL of the host store that hears of events, registered by staff."""

    url = models.URLField(max_length=500, validators=[validate_webhook_url])
    description = models.CharField(max_length=200, blank=True)
    # Signs each delivery (Standard Webhooks: "whsec_" and the base64 of the key); shown to
    # staff so the receiver can verify.
    secret = models.CharField(max_length=100)
    # Event types to send; empty: all of them.
    events = models.JSONField(default=list, blank=True)
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("webhook endpoint")
        verbose_name_plural = _("webhook endpoints")

    def __str__(self):
        return self.url


class WebhookDelivery(models.Model):
    """One event for one endpoint: written with the change, POSTed by the worker with
    retries, kept as the delivery log."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        SENDING = "sending", _("Sending")
        DELIVERED = "delivered", _("Delivered")
        FAILED = "failed", _("Failed")

    endpoint = models.ForeignKey(
        WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries"
    )
    event_id = models.CharField(max_length=64, unique=True)
    event_type = models.CharField(max_length=40)
    payload = models.JSONField()
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    due_at = models.DateTimeField()
    claim = models.CharField(max_length=32, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True)
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    # The beginning of a 2xx answer only: staff choose the URL, so an error page's text
    # (which might come from anywhere) is not kept.
    response_excerpt = models.CharField(_("answer excerpt"), max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(
                fields=["due_at"],
                condition=Q(status__in=["pending", "sending"]),
                name="om_webhook_due",
            )
        ]
        ordering = ["-created_at"]
        verbose_name = _("webhook delivery")
        verbose_name_plural = _("webhook deliveries")

    def __str__(self):
        return f"{self.event_type} → {self.endpoint} ({self.get_status_display()})"
