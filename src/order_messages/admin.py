from django.contrib import admin

from .models import Conversation, Dispute, Message, Participant


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class MessageInline(ReadOnlyInline):
    model = Message
    fields = ["seq", "kind", "author_name", "author_role", "body", "created_at"]
    readonly_fields = fields


class ParticipantInline(ReadOnlyInline):
    model = Participant
    fields = ["user", "role", "unread_count", "last_read_seq"]
    readonly_fields = fields


class DisputeInline(ReadOnlyInline):
    model = Dispute
    fields = ["status", "reason", "opened_by_name", "opened_at", "closed_by_name", "closed_at"]
    readonly_fields = fields


@admin.register(Conversation)
class ConversationAdmin(admin.ModelAdmin):
    list_display = ["__str__", "vendor_name", "customer_name", "last_seq", "last_message_at"]
    list_filter = ["vendor_name"]
    search_fields = ["order_number", "customer_name", "customer_email"]
    readonly_fields = [f.name for f in Conversation._meta.fields]
    inlines = [DisputeInline, ParticipantInline, MessageInline]

    def has_add_permission(self, request):
        return False
