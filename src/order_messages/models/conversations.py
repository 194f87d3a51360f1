from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from ..links import thread_url


class Role(models.TextChoices):
    CUSTOMER = "customer", _("Customer")
    VENDOR = "vendor", _("Vendor")
    STAFF = "staff", _("Store")
    SYSTEM = "system", _("System")


#: Characters kept of a person's or a seller's name (the store may know longer ones).
NAME_LENGTH = 200


class Conversation(models.Model):
    """One thread about one order with one vendor (or with the store).

    Created by the first message, never by viewing a page. The ``last_*`` and
    ``open_dispute`` columns are maintained by the actions so that list pages need no
    per-row lookups.
    """

    # As long as the stores' own (django-oscar: 128 characters).
    order_number = models.CharField(max_length=128)
    vendor_key = models.CharField(max_length=128)
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
    # Disputes it has had, so a thread that never had one skips their query.
    dispute_count = models.PositiveIntegerField(default=0)
    # Its open dispute was escalated to the store: back-office lists show it first.
    escalated = models.BooleanField(default=False)
    # The customer's first message the seller has not answered yet, and how many such
    # messages there are: "awaiting your reply" and the response times (metrics.py).
    awaiting_since = models.DateTimeField(null=True, blank=True)
    awaiting_count = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["order_number", "vendor_key"], name="om_one_conversation_per_suborder"
            )
        ]
        indexes = [
            # Back-office lists: escalated disputes first, then newest activity first.
            models.Index(fields=["-escalated", "-last_message_at", "-id"], name="om_conv_activity"),
            # A vendor's back office: their conversations in the same order.
            models.Index(
                fields=["vendor_key", "-escalated", "-last_message_at", "-id"],
                name="om_conv_vendor_activity",
            ),
            # "Awaiting your reply", oldest waiting first.
            models.Index(
                fields=["awaiting_since", "id"],
                condition=Q(awaiting_since__isnull=False),
                name="om_conv_awaiting",
            ),
            models.Index(
                fields=["vendor_key", "awaiting_since", "id"],
                condition=Q(awaiting_since__isnull=False),
                name="om_conv_vendor_awaiting",
            ),
            # Open and escalated disputes per vendor, counted without reading the rest.
            models.Index(
                fields=["vendor_key", "escalated"],
                condition=Q(open_dispute__isnull=False),
                name="om_conv_open_dispute",
            ),
        ]
        permissions = [("manage_conversations", _("Can read and manage all conversations"))]
        verbose_name = _("conversation")
        verbose_name_plural = _("conversations")

    def __str__(self):
        return str(self.title)

    def get_absolute_url(self) -> str:
        """Its page, where the access policy decides who may read it."""
        return thread_url(self.order_number, self.vendor_key)

    @property
    def title(self):
        if self.order_is_split:
            return _("Order #%(number)s — %(vendor)s") % {
                "number": self.order_number,
                "vendor": self.vendor_name,
            }
        return _("Order #%(number)s") % {"number": self.order_number}

    @property
    def preview(self) -> str:
        """What a list shows of its last message: the excerpt, or what happened where the
        last message has no text (a dispute escalated, or closed without a note)."""
        if self.last_message_excerpt:
            return self.last_message_excerpt
        if self.escalated:
            return gettext("Dispute escalated")
        if self.dispute_count and self.open_dispute_id is None:
            return gettext("Dispute closed")
        return ""

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
    # Store staff reading along who marked the conversation unread: they count its unread
    # messages, but are not e-mailed about it, and leave it once they have read it.
    marked_only = models.BooleanField(default=False, db_default=False)

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
        DISPUTE_ESCALATED = "dispute_escalated", _("Dispute escalated")
        DISPUTE_CLOSED = "dispute_closed", _("Dispute resolved")

    # The kinds a dispute's events are written as.
    DISPUTE_KINDS = (Kind.DISPUTE_OPENED, Kind.DISPUTE_ESCALATED, Kind.DISPUTE_CLOSED)

    conversation = models.ForeignKey(
        Conversation, on_delete=models.CASCADE, related_name="messages"
    )
    # Gapless per conversation: 1, 2, 3, ...
    seq = models.PositiveBigIntegerField()
    kind = models.CharField(max_length=32, choices=Kind.choices, default=Kind.MESSAGE)
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
    # The text as typed; for a dispute event, the reason or the resolution's note.
    body = models.TextField(blank=True)
    # The dispute a dispute event is about.
    dispute = models.ForeignKey(
        "Dispute", null=True, blank=True, on_delete=models.SET_NULL, related_name="events"
    )
    # A seller's reply to a waiting customer: seconds since the first of the customer's
    # unanswered messages, how many it answered, and how many of those within a day.
    # Rolled up into ResponseDay by the worker (metrics.py).
    response_seconds = models.PositiveIntegerField(null=True, blank=True)
    answered = models.PositiveIntegerField(default=0)
    answered_within_day = models.PositiveIntegerField(default=0)
    # The moment the post took for the conversation's last_message_at and awaiting_since.
    created_at = models.DateTimeField(default=timezone.now, editable=False, blank=True)

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
    """A customer's complaint about one conversation's sub-order, run to an outcome.

    The seller must answer by ``respond_by``; their first reply stops the clock. Unanswered
    by then, the worker escalates it to the store's staff. Staff resolve it with an
    outcome; a customer closing their own records "withdrawn". Reopening after that starts
    a new Dispute row, so every dispute of a conversation stays on record.
    """

    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        ESCALATED = "escalated", _("Escalated")
        CLOSED = "closed", _("Resolved")

    class Request(models.TextChoices):
        """What the customer asks for."""

        REFUND = "refund", _("Refund")
        REPLACEMENT = "replacement", _("Replacement")
        RETURN = "return", _("Return")
        OTHER = "other", _("Other")

    class Outcome(models.TextChoices):
        REFUNDED = "refunded", _("Refunded")
        REPLACED = "replaced", _("Replaced")
        RETURNED = "returned", _("Returned")
        REJECTED = "rejected", _("Rejected")
        WITHDRAWN = "withdrawn", _("Withdrawn by the customer")

    # Who may move a conversation's dispute from one state to the next (None: it never had
    # one). A conversation's state is that of its latest dispute. docs/disputes.md draws
    # this table; a test keeps the two the same.
    TRANSITIONS = {
        (None, Status.OPEN): {Role.CUSTOMER, Role.STAFF},
        (Status.OPEN, Status.ESCALATED): {Role.SYSTEM},
        (Status.OPEN, Status.CLOSED): {Role.CUSTOMER, Role.STAFF},
        (Status.ESCALATED, Status.CLOSED): {Role.CUSTOMER, Role.STAFF},
        (Status.CLOSED, Status.OPEN): {Role.CUSTOMER, Role.STAFF},
    }
    # States in which the dispute is still running (the conversation's ``open_dispute``).
    ACTIVE = (Status.OPEN, Status.ESCALATED)

    conversation = models.ForeignKey(
        Conversation, on_delete=models.CASCADE, related_name="disputes"
    )
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.OPEN)
    # A key of ORDER_MESSAGES_DISPUTE_REASONS, kept even if the store later drops it.
    reason_code = models.CharField(max_length=32, default="other")
    requested = models.CharField(max_length=16, choices=Request.choices, default=Request.OTHER)
    # The customer's own words.
    reason = models.TextField()
    opened_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    opened_by_name = models.CharField(max_length=200)
    opened_at = models.DateTimeField(auto_now_add=True)
    # The seller's deadline for a first answer, and when they gave it.
    respond_by = models.DateTimeField(null=True, blank=True)
    responded_at = models.DateTimeField(null=True, blank=True)
    reminded_at = models.DateTimeField(null=True, blank=True)
    escalated_at = models.DateTimeField(null=True, blank=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    closed_by_name = models.CharField(max_length=200, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    outcome = models.CharField(max_length=16, choices=Outcome.choices, blank=True)
    # Shown to the customer with the outcome.
    resolution_note = models.TextField(blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["conversation"],
                condition=Q(status__in=["open", "escalated"]),
                name="om_one_open_dispute",
            )
        ]
        indexes = [
            # The worker's clock: open disputes the seller has not answered, by deadline.
            models.Index(
                fields=["respond_by"],
                condition=Q(status="open", responded_at__isnull=True),
                name="om_dispute_clock",
            ),
        ]
        ordering = ["-opened_at"]
        verbose_name = _("dispute")
        verbose_name_plural = _("disputes")

    def __str__(self):
        return f"{self.conversation}: {self.get_status_display()}"

    @property
    def is_active(self) -> bool:
        return self.status in self.ACTIVE

    @property
    def is_escalated(self) -> bool:
        return self.status == self.Status.ESCALATED

    @property
    def awaits_seller(self) -> bool:
        """The seller's clock is running: open, unanswered, with a deadline."""
        return (
            self.status == self.Status.OPEN
            and self.responded_at is None
            and self.respond_by is not None
        )

    @property
    def reason_label(self) -> str:
        from ..disputes import reason_label

        return reason_label(self.reason_code)


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


class ResponseDay(models.Model):
    """One seller's answers on one day (UTC), rolled up from the messages by the worker so
    that the response figures cost the same whatever the number of messages (metrics.py).
    """

    vendor_key = models.CharField(max_length=128)
    vendor_name = models.CharField(max_length=200)
    day = models.DateField()
    customer_messages = models.PositiveIntegerField(default=0)
    # Customer messages the seller answered within 24 hours (counted on the day the
    # customer started waiting).
    answered_within_day = models.PositiveIntegerField(default=0)
    # First answers to a waiting customer, and how long they took: a count per bucket of
    # metrics.BUCKETS, from which medians and percentiles are read.
    responses = models.PositiveIntegerField(default=0)
    response_histogram = models.JSONField(default=list)
    disputes_opened = models.PositiveIntegerField(default=0)
    disputes_escalated = models.PositiveIntegerField(default=0)
    disputes_resolved = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["vendor_key", "day"], name="om_one_response_day")
        ]
        indexes = [models.Index(fields=["day", "vendor_key"], name="om_response_day")]
        verbose_name = _("response day")
        verbose_name_plural = _("response days")

    def __str__(self):
        return f"{self.vendor_key} {self.day}"


class Watermark(models.Model):
    """How far a roll-up has read a table (the last primary key it counted)."""

    name = models.CharField(max_length=64, primary_key=True)
    last_id = models.BigIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("watermark")
        verbose_name_plural = _("watermarks")

    def __str__(self):
        return f"{self.name}: {self.last_id}"


class SavedReply(models.Model):
    """A reply a vendor's or the store's staff insert into the composer: their own, or
    (``shared``, written by store staff) one everyone answering customers may use.
    ``{customer_name}`` and ``{order_number}`` are filled in for the conversation."""

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    shared = models.BooleanField(default=False)
    title = models.CharField(max_length=100)
    body = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [
            models.Index(fields=["owner", "title"], name="om_saved_reply_owner"),
            models.Index(fields=["title"], condition=Q(shared=True), name="om_saved_reply_shared"),
        ]
        ordering = ["title", "pk"]
        verbose_name = _("saved reply")
        verbose_name_plural = _("saved replies")

    def __str__(self):
        return self.title
