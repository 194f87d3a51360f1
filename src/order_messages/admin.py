"""The Django admin for the store owner: find conversations, see who takes part, read the
thread and its disputes.

Everything here is read-only. Messages and disputes are evidence, so nobody adds, edits or
deletes them from the admin; replying and opening or closing a dispute happen on the
Messages pages, which call the actions. Store staff (``manage_conversations``) may view
these pages without the per-model view permissions.
"""

import json
import re

from django.contrib import admin, messages
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from . import policy
from .actions.delivery import (
    mark_inbound_mail_handled,
    resend_notifications,
    resend_webhook_deliveries,
)
from .forms import WebhookEndpointForm
from .models import (
    Attachment,
    Conversation,
    Dispute,
    InboundMail,
    Message,
    Notification,
    Participant,
    SavedReply,
    WebhookDelivery,
    WebhookEndpoint,
)
from .webhooks.events import EVENT_TYPES


def thread_url(conversation: Conversation) -> str:
    return reverse(
        "order_messages:thread",
        kwargs={"number": conversation.order_number, "vendor_key": conversation.vendor_key},
    )


class ReadOnly:
    """View-only for store staff and anyone with the model's view permission."""

    def has_view_permission(self, request, obj=None):
        return policy.is_store_staff(request.user) or super().has_view_permission(request, obj)

    def has_module_permission(self, request):
        return policy.is_store_staff(request.user) or super().has_module_permission(request)

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class ReadOnlyInline(ReadOnly, admin.StackedInline):
    """Stacked, not tabular: a dispute's thirteen fields or a long message make a table
    wider than the page, which a phone then scrolls sideways; stacked, each row reads top
    to bottom on any screen."""

    extra = 0
    can_delete = False


class DisputeFields:
    @admin.display(description=_("reason chosen"), ordering="reason_code")
    def reason_choice(self, obj):
        """The label the store gives the reason now (the code, if the store dropped it)."""
        return obj.reason_label


class DisputeInline(DisputeFields, ReadOnlyInline):
    model = Dispute
    fields = [
        "status",
        "reason_choice",
        "requested",
        "reason",
        "opened_by_name",
        "opened_at",
        "respond_by",
        "responded_at",
        "escalated_at",
        "outcome",
        "resolution_note",
        "closed_by_name",
        "closed_at",
    ]
    readonly_fields = fields


class ParticipantInline(ReadOnlyInline):
    model = Participant
    fields = ["user", "role", "unread_count", "last_read_seq", "marked_only", "joined_at"]
    readonly_fields = fields

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("user")


class MessageInline(ReadOnlyInline):
    model = Message
    fields = ["seq", "created_at", "author_name", "author_role", "kind", "body"]
    readonly_fields = fields


class AttachmentInline(ReadOnlyInline):
    """The files posted in the conversation, opened through the app's access-checked view."""

    model = Attachment
    fk_name = "conversation"
    fields = ["open", "content_type", "size", "message_seq", "created_at"]
    readonly_fields = fields

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("message")

    @admin.display(description=_("file"))
    def open(self, obj):
        url = reverse("order_messages:file", kwargs={"attachment_id": obj.pk})
        return format_html('<a href="{}">{}</a>', url, obj.name)

    @admin.display(description=_("message"))
    def message_seq(self, obj):
        return f"#{obj.message.seq}" if obj.message_id else ""


class OpenDisputeFilter(admin.SimpleListFilter):
    title = _("open dispute")
    parameter_name = "dispute"

    def lookups(self, request, model_admin):
        return [("yes", _("Yes")), ("no", _("No"))]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(open_dispute__isnull=False)
        if self.value() == "no":
            return queryset.filter(open_dispute__isnull=True)
        return queryset


class OrderNumberSearch:
    """Searching "#1001" finds order 1001, as the store writes order numbers."""

    def get_search_results(self, request, queryset, search_term):
        search_term = re.sub(r"(^|\s)#(?=\S)", r"\1", search_term)
        return super().get_search_results(request, queryset, search_term)


@admin.register(Conversation)
class ConversationAdmin(OrderNumberSearch, ReadOnly, admin.ModelAdmin):
    list_display = [
        "__str__",
        "vendor_name",
        "customer_name",
        "customer_email",
        "messages_count",
        "last_message_at",
        "in_dispute",
    ]
    list_filter = [OpenDisputeFilter, "vendor_name"]
    search_fields = ["=order_number", "customer_name", "customer_email"]
    search_help_text = _("Order number, customer name or e-mail address.")
    ordering = ["-last_message_at", "-id"]
    show_full_result_count = False
    fields = [
        "order_number",
        "vendor_name",
        "vendor_key",
        "customer_name",
        "customer_email",
        "customer",
        "created_at",
        "last_message_at",
        "last_seq",
        "attachment_count",
        "open_dispute",
    ]
    readonly_fields = fields
    inlines = [DisputeInline, ParticipantInline, MessageInline, AttachmentInline]

    def view_on_site(self, obj):
        return thread_url(obj)

    @admin.display(description=_("messages"), ordering="last_seq")
    def messages_count(self, obj):
        return obj.last_seq

    @admin.display(description=_("open dispute"), boolean=True, ordering="open_dispute")
    def in_dispute(self, obj):
        return obj.has_open_dispute


@admin.register(Dispute)
class DisputeAdmin(DisputeFields, OrderNumberSearch, ReadOnly, admin.ModelAdmin):
    list_display = [
        "conversation",
        "status",
        "reason_choice",
        "requested",
        "opened_by_name",
        "opened_at",
        "respond_by",
        "responded_at",
        "escalated_at",
        "outcome",
        "closed_at",
    ]
    list_filter = ["status", "outcome", "requested"]
    list_select_related = ["conversation"]
    search_fields = ["=conversation__order_number", "opened_by_name", "reason"]
    search_help_text = _("Order number, who opened it, or words of the reason.")
    date_hierarchy = "opened_at"
    fields = [
        "conversation",
        "status",
        "reason_choice",
        "requested",
        "reason",
        "opened_by_name",
        "opened_at",
        "respond_by",
        "responded_at",
        "reminded_at",
        "escalated_at",
        "outcome",
        "resolution_note",
        "closed_by_name",
        "closed_at",
    ]
    readonly_fields = fields

    def view_on_site(self, obj):
        return thread_url(obj.conversation)


@admin.register(SavedReply)
class SavedReplyAdmin(ReadOnly, admin.ModelAdmin):
    """For finding a reply and who wrote it. People change their own on the saved-replies
    page, where the rules of who may change which are kept."""

    list_display = ["title", "owner", "shared", "updated_at"]
    list_filter = ["shared"]
    list_select_related = ["owner"]
    search_fields = ["title", "body"]
    search_help_text = _("Words of the title or the text.")
    fields = ["title", "owner", "shared", "body", "created_at", "updated_at"]
    readonly_fields = fields


@admin.register(Message)
class MessageAdmin(OrderNumberSearch, ReadOnly, admin.ModelAdmin):
    """For finding a message; its text can be read here and never changed."""

    list_display = ["conversation", "seq", "created_at", "author_name", "author_role", "kind"]
    list_filter = ["kind", "author_role"]
    list_select_related = ["conversation"]
    search_fields = ["=conversation__order_number", "author_name"]
    search_help_text = _("Order number or author.")
    show_full_result_count = False
    fields = ["conversation", "seq", "created_at", "author_name", "author_role", "kind", "body"]
    readonly_fields = fields

    def view_on_site(self, obj):
        return f"{thread_url(obj.conversation)}#m-{obj.seq}"


@admin.register(Notification)
class NotificationAdmin(ReadOnly, admin.ModelAdmin):
    """The e-mail outbox: what was sent, what waits, and what failed (with the error)."""

    list_display = ["email", "kind", "conversation", "status", "attempts", "due_at", "sent_at"]
    list_filter = ["status", "kind", "audience", "digest"]
    list_select_related = ["conversation"]
    search_fields = ["email", "=conversation__order_number", "message_id"]
    search_help_text = _("E-mail address, order number or Message-ID.")
    show_full_result_count = False
    fields = [
        "conversation",
        "email",
        "name",
        "audience",
        "kind",
        "first_seq",
        "last_seq",
        "digest",
        "status",
        "attempts",
        "last_error",
        "due_at",
        "created_at",
        "sent_at",
        "message_id",
    ]
    readonly_fields = fields
    actions = ["send_again"]

    @admin.action(description=_("Send the failed e-mails again"))
    def send_again(self, request, queryset):
        count = resend_notifications(notifications=queryset)
        text = ngettext(
            "%(n)d e-mail will be sent again.", "%(n)d e-mails will be sent again.", count
        )
        self.message_user(request, text % {"n": count})


@admin.register(InboundMail)
class InboundMailAdmin(ReadOnly, admin.ModelAdmin):
    """Replies by e-mail. Those not routed wait here for staff: read them, act on the
    Messages page, then mark them handled."""

    list_display = ["received_at", "sender", "subject", "status", "reason", "conversation"]
    list_filter = ["status"]
    list_select_related = ["conversation"]
    search_fields = ["sender", "subject", "=conversation__order_number"]
    search_help_text = _("Sender, subject or order number.")
    show_full_result_count = False
    fields = [
        "received_at",
        "sender",
        "recipient",
        "subject",
        "message_id",
        "status",
        "reason",
        "conversation",
        "posted",
        "raw",
    ]
    readonly_fields = fields
    actions = ["mark_handled"]

    @admin.action(description=_("Mark as handled"))
    def mark_handled(self, request, queryset):
        count = mark_inbound_mail_handled(mails=queryset)
        text = ngettext(
            "%(n)d e-mail marked as handled.", "%(n)d e-mails marked as handled.", count
        )
        self.message_user(request, text % {"n": count})


# -- webhooks (A3) ----------------------------------------------------------------------------


class ManagedByStaff:
    """Store staff (``manage_conversations``) may add, change and remove these, as may
    anyone with the model's permissions."""

    def _may(self, request, granted):
        return policy.is_store_staff(request.user) or granted

    def has_module_permission(self, request):
        return self._may(request, super().has_module_permission(request))

    def has_view_permission(self, request, obj=None):
        return self._may(request, super().has_view_permission(request, obj))

    def has_add_permission(self, request):
        return self._may(request, super().has_add_permission(request))

    def has_change_permission(self, request, obj=None):
        return self._may(request, super().has_change_permission(request, obj))

    def has_delete_permission(self, request, obj=None):
        return self._may(request, super().has_delete_permission(request, obj))


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(ManagedByStaff, admin.ModelAdmin):
    """The host store's URLs that hear of new messages and disputes, each with the secret
    that signs what it gets."""

    form = WebhookEndpointForm
    list_display = ["url", "description", "subscribed_events", "active", "created_at"]
    list_filter = ["active"]
    search_fields = ["url", "description"]
    search_help_text = _("URL or description.")
    fields = ["url", "description", "events", "secret", "active", "created_at"]

    def get_readonly_fields(self, request, obj=None):
        # The secret is chosen or made once, on creation; then only shown.
        return ["created_at"] if obj is None else ["secret", "created_at"]

    def get_fields(self, request, obj=None):
        return [f for f in self.fields if obj is not None or f != "created_at"]

    @admin.display(description=_("events"))
    def subscribed_events(self, obj):
        if not obj.events:
            return _("All events")
        labels = dict(EVENT_TYPES)
        return ", ".join(str(labels.get(event, event)) for event in obj.events)


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(ReadOnly, admin.ModelAdmin):
    """The delivery log: every event sent to every endpoint, with the receiver's answer or
    the error, and the deliveries still waiting for a retry."""

    list_display = [
        "event_type",
        "endpoint",
        "status",
        "attempts",
        "response_status",
        "created_at",
        "delivered_at",
    ]
    list_filter = ["status", "event_type", "endpoint"]
    list_select_related = ["endpoint"]
    search_fields = ["=event_id"]
    search_help_text = _("Webhook-Id.")
    show_full_result_count = False
    fields = [
        "endpoint",
        "event_type",
        "event_id",
        "status",
        "attempts",
        "due_at",
        "created_at",
        "delivered_at",
        "response_status",
        "response_excerpt",
        "last_error",
        "payload_json",
    ]
    readonly_fields = fields
    actions = ["deliver_again"]

    @admin.display(description=_("payload"))
    def payload_json(self, obj):
        return format_html("<pre>{}</pre>", json.dumps(obj.payload, indent=2, ensure_ascii=False))

    @admin.action(description=_("Deliver the failed webhooks again"))
    def deliver_again(self, request, queryset):
        resent = resend_webhook_deliveries(deliveries=queryset)
        count, inactive = resent.count, resent.inactive
        text = ngettext(
            "%(n)d webhook will be delivered again.",
            "%(n)d webhooks will be delivered again.",
            count,
        )
        self.message_user(request, text % {"n": count})
        if inactive:
            text = ngettext(
                "%(n)d webhook goes to an inactive endpoint: activate it first.",
                "%(n)d webhooks go to inactive endpoints: activate them first.",
                inactive,
            )
            self.message_user(request, text % {"n": inactive}, messages.WARNING)
