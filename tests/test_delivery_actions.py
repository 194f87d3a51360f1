"""What staff do with the outboxes, as actions (``actions/delivery.py``): send failed
e-mails again (folding into a newer open batch, as the worker does on a retry), deliver
failed webhooks again, mark inbound mail handled. The admin only calls these."""

from datetime import timedelta

import pytest
from django.utils import timezone

from order_messages.actions.delivery import (
    mark_inbound_mail_handled,
    resend_notifications,
    resend_webhook_deliveries,
)
from order_messages.models import InboundMail, Notification, WebhookDelivery, WebhookEndpoint
from order_messages.notifications.worker import deliver_all

pytestmark = pytest.mark.usefixtures("no_conversations")

Status = Notification.Status


def bob(demo):
    return demo["bob"].email


def fail(row):
    Notification.objects.filter(pk=row.pk).update(
        status=Status.FAILED, attempts=8, last_error="SMTPRecipientsRefused", claim="x"
    )


def test_a_failed_email_without_a_newer_batch_goes_back_in_the_queue(demo, post):
    post("alice", "1002", "bobs-bikes", "First")
    row = Notification.objects.get(email=bob(demo))
    fail(row)
    before = timezone.now()

    assert resend_notifications(notifications=Notification.objects.all()) == 1

    row.refresh_from_db()
    assert (row.status, row.attempts, row.last_error, row.claim) == (Status.PENDING, 0, "", "")
    assert before <= row.due_at <= timezone.now()


def test_only_failed_emails_are_sent_again(demo, post):
    post("alice", "1002", "bobs-bikes", "First")
    deliver_all(now=timezone.now() + timedelta(days=2))
    assert set(Notification.objects.values_list("status", flat=True)) == {Status.SENT}

    assert resend_notifications(notifications=Notification.objects.all()) == 0
    assert set(Notification.objects.values_list("status", flat=True)) == {Status.SENT}


def test_two_failed_batches_for_one_recipient_become_one_email(demo, post):
    """Resending both must not open two batches (one open batch per recipient and
    conversation): the second joins the first, which then spans both."""
    post("alice", "1002", "bobs-bikes", "First")
    first = Notification.objects.get(email=bob(demo))
    fail(first)
    post("alice", "1002", "bobs-bikes", "Second")
    second = Notification.objects.get(email=bob(demo), status=Status.PENDING)
    fail(second)

    assert resend_notifications(notifications=Notification.objects.filter(email=bob(demo))) == 2

    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.status, first.first_seq, first.last_seq) == (Status.PENDING, 1, 2)
    assert second.status == Status.SKIPPED and "newer e-mail" in second.last_error


def test_a_folded_email_is_sent_as_one_listing_both_messages(demo, post, smtp):
    post("alice", "1002", "bobs-bikes", "The first question")
    failed = Notification.objects.get(email=bob(demo))
    fail(failed)
    post("alice", "1002", "bobs-bikes", "The second question")

    resend_notifications(notifications=Notification.objects.filter(pk=failed.pk))
    report = deliver_all(now=timezone.now() + timedelta(days=2))

    assert report.failed == 0
    (message,) = smtp.messages(bob(demo))
    text = message.get_body(("plain",)).get_content()
    assert "The first question" in text and "The second question" in text


def test_a_failed_dispute_email_is_sent_again_beside_other_pending_ones(demo, post, dispute):
    post("alice", "1002", "bobs-bikes", "Hello")
    dispute.open("alice", "1002", "bobs-bikes", "Broken")
    opened = Notification.objects.get(email=bob(demo), kind="dispute_opened")
    fail(opened)
    dispute.close("alice", "1002", "bobs-bikes")

    assert resend_notifications(notifications=Notification.objects.filter(pk=opened.pk)) == 1
    assert Notification.objects.get(pk=opened.pk).status == Status.PENDING


def test_failed_webhooks_go_back_unless_their_endpoint_is_inactive(demo, post):
    on = WebhookEndpoint.objects.create(url="https://hooks.shop.test/a", secret="whsec_QUJD")
    off = WebhookEndpoint.objects.create(url="https://hooks.shop.test/b", secret="whsec_QUJD")
    post("alice", "1002", "bobs-bikes", "Hello")
    post("alice", "1002", "bobs-bikes", "Again")
    WebhookDelivery.objects.update(status=WebhookDelivery.Status.FAILED, attempts=8)
    delivered = WebhookDelivery.objects.filter(endpoint=on).first()
    WebhookDelivery.objects.filter(pk=delivered.pk).update(status=WebhookDelivery.Status.DELIVERED)
    WebhookEndpoint.objects.filter(pk=off.pk).update(active=False)

    resent = resend_webhook_deliveries(deliveries=WebhookDelivery.objects.all())

    assert (resent.count, resent.inactive) == (1, 2)
    statuses = dict(WebhookDelivery.objects.values_list("pk", "status"))
    assert statuses[delivered.pk] == WebhookDelivery.Status.DELIVERED
    back = WebhookDelivery.objects.get(status=WebhookDelivery.Status.PENDING)
    assert (back.endpoint, back.attempts) == (on, 0)
    assert WebhookDelivery.objects.filter(endpoint=off, status="failed").count() == 2


def test_marking_inbound_mail_handled_touches_only_unrouted_mail(demo):
    unrouted = InboundMail.objects.create(sender="a@x.example", status="unrouted")
    posted = InboundMail.objects.create(sender="b@x.example", status="posted")

    assert mark_inbound_mail_handled(mails=InboundMail.objects.all()) == 1

    assert InboundMail.objects.get(pk=unrouted.pk).status == InboundMail.Status.HANDLED
    assert InboundMail.objects.get(pk=posted.pk).status == InboundMail.Status.POSTED
