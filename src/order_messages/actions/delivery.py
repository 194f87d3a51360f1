"""What staff do with the outboxes and the inbound mail in the admin: send failed e-mails
and webhooks again, and mark inbound mail they dealt with as handled."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import QuerySet

from .. import queue
from ..models import InboundMail, Notification, WebhookDelivery
from ..notifications.worker import EmailChannel
from ..webhooks.delivery import WebhookChannel


def resend_notifications(*, notifications: QuerySet[Notification]) -> int:
    """Send the failed ones among ``notifications`` again, due now, tries counted from zero.

    A failed message batch whose recipient has a newer batch open for the same conversation
    joins that batch (one e-mail tells of both) instead of opening a second one. Returns
    how many failed e-mails will go out again, alone or folded."""
    return queue.resend(EmailChannel(), notifications)


@dataclass(frozen=True)
class Resent:
    count: int
    # Failed deliveries left alone because their endpoint is inactive: they would fail again.
    inactive: int


def resend_webhook_deliveries(*, deliveries: QuerySet[WebhookDelivery]) -> Resent:
    """Deliver the failed ones among ``deliveries`` again (same webhook-id and body), unless
    their endpoint is inactive."""
    failed = deliveries.filter(status=WebhookDelivery.Status.FAILED)
    inactive = failed.filter(endpoint__active=False).count()
    count = queue.resend(WebhookChannel(), failed.filter(endpoint__active=True))
    return Resent(count=count, inactive=inactive)


def mark_inbound_mail_handled(*, mails: QuerySet[InboundMail]) -> int:
    """Mark the unrouted ones among ``mails`` as handled by staff. Returns how many."""
    return mails.filter(status=InboundMail.Status.UNROUTED).update(
        status=InboundMail.Status.HANDLED
    )
