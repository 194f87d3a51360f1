from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    CUSTOMER = "customer", _("Customer")
    VENDOR = "vendor", _("Vendor")
    STAFF = "staff", _("Store")
    SYSTEM = "system", _("System")


class Conversation(models.Model):
    """One thread about one order with one vendor (or with the store).

    Created by the first message, never by viewing a page. The ``last_*`` and
    ``open_dispute`` columns are maintained by the actions so that list pages need no
    per-row lookups.
    """

    order_number = models.CharField(max_length=64)
    vendor_key = models.CharField(max_length=64)
    vendor_name = models.CharField(max_length=200)
    # True when the order has several conversations, so the name must say which (C5).
    order_is_split = models.BooleanField(default=False)
    customer = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    customer_email = models.EmailField(blank=True)
    customer_name = models.CharField(max_length=200, blank=True)
    last_seq = models.PositiveBigIntegerField(default=0)
    last_message_at = models.DateTimeField(null=True, blank=True)
    last_message_excerpt = models.CharField(max_length=200, blank=True)
    open_dispute = models.OneToOneField(
        "Dispute", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Files posted in it, so lists can mark it and a thread without any skips their query.
    attachment_count = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["order_number", "vendor_key"], name="om_one_conversation_per_suborder"
            )
        ]
        indexes = [
            models.Index(fields=["-last_message_at", "-id"], name="om_conv_activity"),
            # A vendor's back office: their conversations, newest activity first.
            models.Index(
                fields=["vendor_key", "-last_message_at", "-id"], name="om_conv_vendor_activity"
            ),
        ]
        permissions = [("manage_conversations", _("Can read and manage all conversations"))]
        verbose_name = _("conversation")
        verbose_name_plural = _("conversations")

    def __str__(self):
        return str(self.title)

    @property
    def title(self):
        if self.order_is_split:
            return _("Order #%(number)s — %(vendor)s") % {
                "number": self.order_number,
                "vendor": self.vendor_name,
            }
        return _("Order #%(number)s") % {"number": self.order_number}

    @property
    def has_open_dispute(self):
        return self.open_dispute_id is not None


class Participant(models.Model):
    """A user taking part in a conversation, with their unread count for it."""

    conversation = models.ForeignKey(
        Conversation, on_delete=models.CASCADE, related_name="participants"
    )
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    role = models.CharField(max_length=16, choices=Role.choices)
    unread_count = models.PositiveIntegerField(default=0)
    last_read_seq = models.PositiveBigIntegerField(default=0)
    # Copy of the conversation's, so an inbox page is one index range scan.
    last_message_at = models.DateTimeField(null=True, blank=True)
    joined_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["conversation", "user"], name="om_one_participant"),
        ]
        indexes = [
            models.Index(fields=["user", "-last_message_at", "-id"], name="om_inbox"),
            models.Index(
                fields=["user", "-last_message_at", "-id"],
                condition=Q(unread_count__gt=0),
                name="om_inbox_unread",
            ),
        ]
        verbose_name = _("participant")
        verbose_name_plural = _("participants")

    def __str__(self):
        return f"{self.user} in {self.conversation}"


class UnreadCounter(models.Model):
    """A user's total unread messages, read by primary key on every page (the badge)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, primary_key=True, on_delete=models.CASCADE, related_name="+"
    )
    count = models.IntegerField(default=0)

    class Meta:
        constraints = [models.CheckConstraint(condition=Q(count__gte=0), name="om_count_gte_0")]
        verbose_name = _("unread counter")
        verbose_name_plural = _("unread counters")

    def __str__(self):
        return f"{self.user_id}: {self.count}"


class Message(models.Model):
    class Kind(models.TextChoices):
        MESSAGE = "message", _("Message")
        DISPUTE_OPENED = "dispute_opened", _("Dispute opened")
        DISPUTE_CLOSED = "dispute_closed", _("Dispute closed")

    # The kinds a dispute's opening and closing are written as.
    DISPUTE_KINDS = (Kind.DISPUTE_OPENED, Kind.DISPUTE_CLOSED)

    conversation = models.ForeignKey(
        Conversation, on_delete=models.CASCADE, related_name="messages"
    )
    # Gapless per conversation: 1, 2, 3, ...
    seq = models.PositiveBigIntegerField()
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.MESSAGE)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    author_role = models.CharField(max_length=16, choices=Role.choices)
    # Kept as written: the message is evidence even if the account is renamed or removed.
    author_name = models.CharField(max_length=200)
    # The text as typed; for a dispute event, the reason (or nothing).
    body = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["conversation", "seq"], name="om_gapless_seq"),
        ]
        indexes = [
            # The dashboard's messages-per-day series reads a date range of these.
            models.Index(fields=["created_at"], condition=Q(kind="message"), name="om_message_day"),
            # The posting rate limit reads an author's latest few (ratelimit.py).
            models.Index(fields=["author", "-created_at"], name="om_message_author_recent"),
        ]
        ordering = ["conversation", "seq"]
        verbose_name = _("message")
        verbose_name_plural = _("messages")

    def __str__(self):
        return f"{self.conversation} #{self.seq}"


class Dispute(models.Model):
    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        CLOSED = "closed", _("Closed")

    # A conversation's dispute state is that of its latest dispute (None: never had one).
    # Reopening after a close starts a new Dispute row, so history is kept.
    TRANSITIONS = {
        None: {Status.OPEN},
        Status.OPEN: {Status.CLOSED},
        Status.CLOSED: {Status.OPEN},
    }

    conversation = models.ForeignKey(
        Conversation, on_delete=models.CASCADE, related_name="disputes"
    )
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.OPEN)
    reason = models.TextField()
    opened_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    opened_by_name = models.CharField(max_length=200)
    opened_at = models.DateTimeField(auto_now_add=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    closed_by_name = models.CharField(max_length=200, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["conversation"],
                condition=Q(status="open"),
                name="om_one_open_dispute",
            )
        ]
        ordering = ["-opened_at"]
        verbose_name = _("dispute")
        verbose_name_plural = _("disputes")

    def __str__(self):
        return f"{self.conversation}: {self.get_status_display()}"


class DashboardSeen(models.Model):
    """When a user last looked at the dashboard, so that disputes opened since then are
    announced once (B3)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, primary_key=True, on_delete=models.CASCADE, related_name="+"
    )
    disputes_seen_at = models.DateTimeField()

    class Meta:
        verbose_name = _("dashboard visit")
        verbose_name_plural = _("dashboard visits")

    def __str__(self):
        return f"{self.user_id}: {self.disputes_seen_at:%Y-%m-%d %H:%M}"
