from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from .conversations import Conversation, Message


class Audience(models.TextChoices):
    """Who an e-mail goes to, which decides its links and how "read" is known."""

    CUSTOMER = "customer", _("Customer")
    GUEST = "guest", _("Guest customer")
    VENDOR = "vendor", _("Vendor")
    STAFF = "staff", _("Store staff")
    STORE = "store", _("Store's orders address")


class Notification(models.Model):
    """One e-mail to one address about one conversation (N1).

    Written in the transaction of the change it tells of, delivered later by the worker.
    A pending row of kind ``message`` collects a burst of messages (N2): later messages
    only move ``last_seq`` on, until the worker claims the row.
    """

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        SENDING = "sending", _("Sending")
        SENT = "sent", _("Sent")
        SKIPPED = "skipped", _("Not needed")
        FAILED = "failed", _("Failed")

    class Kind(models.TextChoices):
        MESSAGE = "message", _("Message")
        DISPUTE_OPENED = "dispute_opened", _("Dispute opened")
        DISPUTE_ESCALATED = "dispute_escalated", _("Dispute escalated")
        DISPUTE_CLOSED = "dispute_closed", _("Dispute resolved")
        # To the seller, before their deadline runs out; tells of no message.
        DISPUTE_REMINDER = "dispute_reminder", _("Dispute reminder")

    conversation = models.ForeignKey(
        Conversation, on_delete=models.CASCADE, related_name="notifications"
    )
    # None for a guest customer and for the store's orders address.
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    email = models.EmailField()
    name = models.CharField(max_length=200, blank=True)
    audience = models.CharField(max_length=16, choices=Audience.choices)
    kind = models.CharField(max_length=32, choices=Kind.choices)
    # The messages it tells of: seq first_seq..last_seq of the conversation.
    first_seq = models.PositiveBigIntegerField()
    last_seq = models.PositiveBigIntegerField()
    # Part of the recipient's daily digest rather than an e-mail of its own.
    digest = models.BooleanField(default=False)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    # Pending: when it may be sent. Sending: when the worker's claim lapses, so that a row
    # of a worker that died is picked up again.
    due_at = models.DateTimeField()
    claim = models.CharField(max_length=32, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True)
    # Chosen once, so that every retry of this e-mail is the same e-mail to the receiver.
    message_id = models.CharField(max_length=255, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            # At most one open batch per recipient and conversation.
            models.UniqueConstraint(
                fields=["conversation", "email"],
                condition=Q(status="pending", kind="message"),
                name="om_one_pending_batch",
            )
        ]
        indexes = [
            models.Index(
                fields=["due_at"],
                condition=Q(status__in=["pending", "sending"]),
                name="om_notification_due",
            ),
            # Earlier e-mails of the thread, for In-Reply-To and References.
            models.Index(
                fields=["conversation", "email", "-sent_at"],
                condition=Q(status="sent"),
                name="om_notification_thread",
            ),
        ]
        ordering = ["-created_at"]
        verbose_name = _("e-mail notification")
        verbose_name_plural = _("e-mail notifications")

    def __str__(self):
        return f"{self.get_kind_display()} → {self.email} ({self.get_status_display()})"


class NotificationSettings(models.Model):
    """A user's e-mail preferences (N3). No row: an e-mail for each message."""

    class Frequency(models.TextChoices):
        EACH = "each", _("An e-mail for new messages")
        DIGEST = "digest", _("One e-mail a day with everything unread")
        OFF = "off", _("No e-mail about messages")

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, primary_key=True, on_delete=models.CASCADE, related_name="+"
    )
    frequency = models.CharField(max_length=8, choices=Frequency.choices, default=Frequency.EACH)
    # Empty: the store's default (StoreAdapter.get_user_language, else LANGUAGE_CODE).
    language = models.CharField(max_length=16, blank=True)

    class Meta:
        verbose_name = _("e-mail preferences")
        verbose_name_plural = _("e-mail preferences")

    def __str__(self):
        return f"{self.user_id}: {self.frequency}"


class Mute(models.Model):
    """An address that asked for no more message e-mails about one conversation
    (one-click unsubscribe). Dispute e-mails still reach it."""

    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="+")
    email = models.EmailField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["conversation", "email"], name="om_one_mute")
        ]
        verbose_name = _("muted conversation")
        verbose_name_plural = _("muted conversations")

    def __str__(self):
        return f"{self.email} muted {self.conversation}"


class InboundMail(models.Model):
    """An e-mail that arrived at a reply address, and what became of it (N4).

    Only ``posted`` mail reached a conversation; ``unrouted`` mail waits for staff.
    """

    class Status(models.TextChoices):
        POSTED = "posted", _("Posted")
        UNROUTED = "unrouted", _("Not routed")
        IGNORED = "ignored", _("Ignored (automatic reply or bounce)")
        DUPLICATE = "duplicate", _("Duplicate")
        HANDLED = "handled", _("Handled by staff")

    received_at = models.DateTimeField(auto_now_add=True)
    sender = models.CharField(max_length=320, blank=True)
    recipient = models.CharField(max_length=320, blank=True)
    subject = models.CharField(max_length=300, blank=True)
    message_id = models.CharField(max_length=255, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices)
    reason = models.CharField(max_length=200, blank=True)
    conversation = models.ForeignKey(
        Conversation, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    posted = models.ForeignKey(
        Message, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # The mail as received, for staff to read: files left out (named, never stored here),
    # the text cut at 2,000,000 characters (notifications/inbound.py).
    raw = models.TextField(blank=True)

    class Meta:
        constraints = [
            # The same e-mail delivered twice (an MTA retry, a replay) is posted once.
            models.UniqueConstraint(
                fields=["message_id"],
                condition=Q(status="posted") & ~Q(message_id=""),
                name="om_inbound_posted_once",
            )
        ]
        indexes = [
            models.Index(fields=["sender", "-received_at"], name="om_inbound_sender"),
            models.Index(fields=["message_id"], name="om_inbound_message_id"),
        ]
        ordering = ["-received_at"]
        verbose_name = _("inbound e-mail")
        verbose_name_plural = _("inbound e-mails")

    def __str__(self):
        return f"{self.sender}: {self.subject} ({self.get_status_display()})"
