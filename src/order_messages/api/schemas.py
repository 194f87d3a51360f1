"""What the API reads and writes. Built from the queries' rows by the ``from_*`` functions,
so the field list here is the contract."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from ninja import Field, Schema

Role = Literal["customer", "vendor", "staff", "system"]
Kind = Literal["message", "dispute_opened", "dispute_escalated", "dispute_closed"]
# The models' choices (Dispute.Status, .Request, .Outcome), spelled out as the contract; a
# test keeps them the same.
DisputeStatus = Literal["open", "escalated", "closed"]
Requested = Literal["refund", "replacement", "return", "other"]
Outcome = Literal["refunded", "replaced", "returned", "rejected", "withdrawn"]


# -- errors ---------------------------------------------------------------------------------


class FieldError(Schema):
    location: list[str] = Field(
        description='Where the problem is, e.g. ["body", "body"] or ["query", "limit"].'
    )
    message: str


class ErrorDetail(Schema):
    code: str = Field(
        description=(
            "Stable, for programs: not_authenticated, forbidden, not_found, method_not_allowed, "
            "validation_error, idempotency_key_reused, invalid_cursor (an after that is not a "
            "next_cursor of the same list), empty, too_long, reason_required, dispute_open, "
            "invalid_transition, invalid_choice (a dispute's reason, request or outcome that is "
            "not offered, or a note too long), outcome_required (store staff resolving a dispute "
            "without an outcome), bad_encoding, too_large, throttled, attachment_refused (a file "
            "of a type, content or name not accepted, or too many files), attachment_unavailable "
            "(an upload to send that is not mine, not here, already sent or removed), "
            "attachment_posted (removing a file that was sent), scan_unavailable (the virus "
            "scanner cannot be reached), unavailable."
        ),
        examples=["not_found"],
    )
    message: str = Field(description="For people, in the request's language (Accept-Language).")
    details: list[FieldError] | None = Field(
        None, description="With validation_error: each invalid field."
    )


class Error(Schema):
    error: ErrorDetail


# -- conversations --------------------------------------------------------------------------


class DisputeOut(Schema):
    id: int
    status: DisputeStatus = Field(
        description="open; escalated (the seller let the deadline pass: the store's staff "
        'have it); closed (resolved, shown as "Resolved"). Reopening starts a new dispute.'
    )
    reason_code: str = Field(
        description="What went wrong: a key of the store's reasons (listDisputeOptions).",
        examples=["damaged"],
    )
    reason_label: str = Field(description="Its label, in the request's language.")
    requested: Requested = Field(description="What the customer asks for.")
    reason: str = Field(description="The customer's own words.")
    opened_at: datetime
    opened_by_name: str
    respond_by: datetime | None = Field(
        description="The seller's deadline for a first answer "
        "(ORDER_MESSAGES_DISPUTE_RESPONSE_HOURS); null without one."
    )
    responded_at: datetime | None = Field(
        description="When the seller first answered, which stopped the clock."
    )
    escalated_at: datetime | None = Field(
        description="When it went to the store's staff, its deadline passed unanswered."
    )
    closed_at: datetime | None = None
    closed_by_name: str | None = None
    outcome: Outcome | None = Field(
        description="How it was resolved; withdrawn when the customer closed it. Null "
        "until it is resolved."
    )
    resolution_note: str = Field(
        description="What store staff wrote for the customer with the outcome; may be empty."
    )


class DisputeList(Schema):
    items: list[DisputeOut] = Field(description="Every dispute of the conversation, newest first.")


class Choice(Schema):
    key: str = Field(description="What requests send and answers carry.")
    label: str = Field(description="For people, in the request's language.")


class DisputeOptions(Schema):
    reasons: list[Choice] = Field(
        description="What can go wrong, as the store configures it (a dispute's reason_code)."
    )
    requests: list[Choice] = Field(description="What a customer can ask for (requested).")
    outcomes: list[Choice] = Field(
        description="How store staff can resolve a dispute (closeDispute's outcome)."
    )


class ConversationOut(Schema):
    """A conversation in a list: who it is with, its latest message, my unread count."""

    id: int
    order_number: str
    vendor_key: str = Field(description='"store" for the store\'s own conversation.')
    vendor_name: str
    title: str = Field(description='"Order #N", or "Order #N — Vendor" when it has several.')
    customer_name: str
    my_role: Role | None = Field(
        None, description="My role in it; null for store staff reading along."
    )
    unread: int = Field(description="Messages I have not read.")
    last_seq: int = Field(description="Sequence number of the latest message.")
    last_message_at: datetime | None
    last_message_excerpt: str
    open_dispute: DisputeOut | None
    attachment_count: int = Field(description="Files posted in it.")
    escalated: bool = Field(
        description="Its open dispute went to the store's staff: the seller let the deadline pass."
    )
    awaiting_since: datetime | None = Field(
        description="When the customer's oldest message the seller has not answered yet was "
        "written; null when nothing waits for the seller."
    )


class ConversationPage(Schema):
    items: list[ConversationOut]
    next_cursor: str | None = Field(
        description="Pass as ``after`` for the next page; null on the last page."
    )


class SearchHighlight(Schema):
    start: int = Field(description="Offset of a matching word in text, in Unicode code points.")
    end: int = Field(description="Offset just past it.")


class SearchMatchOut(Schema):
    """Where a search's words were found in the conversation's messages."""

    seq: int = Field(description="Sequence number of the best matching message.")
    text: str = Field(
        description="Plain text of the part of that message around the words, not HTML."
    )
    highlights: list[SearchHighlight] = Field(description="The matching words in text.")


class BackofficeConversationOut(ConversationOut):
    customer_email: str | None = Field(
        description="Null where contacts are masked from vendors (ORDER_MESSAGES_MASK_CONTACTS)."
    )
    match: SearchMatchOut | None = Field(
        None,
        description="With q: the best message that has the words, with them marked; null "
        "when the conversation was found by its order number or customer only, or without q.",
    )


class BackofficePage(Schema):
    items: list[BackofficeConversationOut]
    next_cursor: str | None = Field(
        description="Pass as ``after`` (with the same show and q) for the next page."
    )


class ItemOut(Schema):
    name: str
    quantity: int
    price: str = Field(description="Formatted by the store, with its currency.")
    url: str


class OrderOut(Schema):
    number: str
    status: str
    placed_at: datetime | date | None
    total: str
    customer_name: str
    customer_email: str | None = Field(description="Null for vendors where contacts are masked.")


class TabOut(Schema):
    """One conversation of an order as its Messages page shows it, started or not."""

    vendor_key: str
    vendor_name: str
    is_store: bool = Field(description="The store's own items, or a conversation with the store.")
    started: bool = Field(description="False until the first message: posting starts it.")
    conversation_id: int | None
    my_role: Role
    may_handle_disputes: bool = Field(description="Customers and store staff; vendors do not.")
    may_open_dispute: bool = Field(
        description="Whether openDispute is open to me now: not in the store's own "
        "conversation (the store already answers it), not before its first message."
    )
    unread: int
    last_read_seq: int = Field(description="My last read message; the first unread follows it.")
    last_seq: int
    last_message_at: datetime | None
    open_dispute: DisputeOut | None
    attachment_count: int = Field(description="Files posted in it; 0 until it is started.")
    items: list[ItemOut] = Field(description="This vendor's items in the order.")


class OrderConversations(Schema):
    order: OrderOut
    conversations: list[TabOut]


class AttachmentOut(Schema):
    """A file on a message, or an upload waiting to be sent with one."""

    id: int = Field(description="What ``attachments`` of a message or dispute name.")
    name: str = Field(
        description="As the sender named it, its extension changed to match the content."
    )
    content_type: str = Field(
        description="Sniffed from the content, never the sender's: image/jpeg, image/png, "
        "image/webp or application/pdf (a GIF is kept as PNG).",
        examples=["image/jpeg"],
    )
    size: int = Field(description="Bytes of the stored file (images are re-encoded).")
    width: int | None = Field(description="Pixels; null for PDFs.")
    height: int | None = Field(description="Pixels; null for PDFs.")
    url: str = Field(
        description="Its content (getAttachmentContent), a path on this API: send the same "
        "authentication.",
        examples=["/api/v1/attachments/7/content"],
    )
    thumbnail_url: str | None = Field(
        description="A small WebP of an image (getAttachmentThumbnail); null for PDFs."
    )


class MessageOut(Schema):
    seq: int = Field(description="1, 2, 3 … within the conversation, without gaps.")
    kind: Kind
    author_name: str
    author_role: Role
    body: str = Field(
        description="Plain text with line breaks; never HTML. The reason for dispute_opened."
    )
    created_at: datetime
    is_mine: bool
    attachments: list[AttachmentOut] = Field(description="Its files, oldest first.")


class MessagePage(Schema):
    conversation: TabOut
    messages: list[MessageOut] = Field(description="Oldest first.")
    first_unread_seq: int | None = Field(description="My first unread message, if any.")
    older: int | None = Field(
        description="Pass as ``before`` for the previous (older) page; null at the start."
    )
    newer: int | None = Field(
        description=(
            "Pass as ``after`` for the next (newer) page; null when this page ends with the "
            "latest message (poll with after=last_seq for new ones)."
        )
    )


# Ids of uploads. The limit is a setting read at request time, so the action checks it,
# not the schema.
ATTACHMENTS_IN = (
    "Ids of my uploads (uploadAttachment) in this conversation to send with it; at most "
    "ORDER_MESSAGES_ATTACHMENT_MAX_FILES (5 by default), else attachment_refused (422). One "
    "that is not mine, not uploaded here or already sent: attachment_unavailable (409), "
    "and nothing is posted."
)


# An id a database row can have; larger ones are refused here rather than by the database.
AttachmentId = Annotated[int, Field(ge=1, le=2**63 - 1)]


class MessageIn(Schema):
    body: str = Field(
        description="Plain text; at most ORDER_MESSAGES_MAX_MESSAGE_LENGTH. May be empty when "
        "the message carries attachments."
    )
    attachments: list[AttachmentId] = Field(default_factory=list, description=ATTACHMENTS_IN)


def _reason_codes() -> str:
    # Read once, when the schema is first built: the reasons a store offers are part of its
    # settings, which do not change while it runs.
    from ..conf import app_settings

    return ", ".join(key for key, _label in app_settings.DISPUTE_REASONS)


class DisputeIn(Schema):
    reason: str = Field(description="Required; at most ORDER_MESSAGES_MAX_REASON_LENGTH.")
    reason_code: str = Field(
        "other",
        description=f"What went wrong: one of the store's reasons ({_reason_codes()}), as "
        "listDisputeOptions lists them with their labels. Another is invalid_choice (422).",
        examples=["damaged"],
    )
    requested: Requested = Field("other", description="What the customer asks for.")
    attachments: list[AttachmentId] = Field(default_factory=list, description=ATTACHMENTS_IN)


class DisputeCloseIn(Schema):
    outcome: Outcome | None = Field(
        None,
        description="How store staff resolved it; required for them (outcome_required, "
        "422). A customer closing their own dispute withdraws it: leave it out or send "
        "withdrawn; any other is invalid_choice (422).",
    )
    note: str = Field(
        "",
        description="For the customer, shown with the outcome; at most "
        "ORDER_MESSAGES_MAX_REASON_LENGTH.",
    )


class ReadOut(Schema):
    marked_read: int = Field(description="How many messages became read.")
    unread_total: int = Field(description="My unread messages in all conversations now.")


class UnreadOut(Schema):
    total: int = Field(description="My unread messages in all conversations (the badge).")
