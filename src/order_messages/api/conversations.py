"""A person's conversations, an order's conversations, and what happens in one: read the
messages, post, mark read, open, list and close disputes. The same queries and actions as
the order's Messages page, with the same access rules."""

from __future__ import annotations

from typing import Annotated, Literal

from django.http import HttpResponse
from django.utils.translation import gettext
from ninja import Path, Query, Router, Status
from ninja.errors import ValidationError

from .. import actions, queries
from ..errors import InvalidTransition
from ..queries.threads import dispute_history
from ..ratelimit import limit_posting
from . import present
from .auth import guests_of
from .cursors import check_cursor
from .errors import documented
from .idempotency import REPLAYED, REPLAYED_HEADER, IdempotencyKey, fingerprint, run_once
from .schemas import (
    ConversationPage,
    DisputeCloseIn,
    DisputeIn,
    DisputeList,
    DisputeOptions,
    DisputeOut,
    MessageIn,
    MessageOut,
    MessagePage,
    OrderConversations,
    ReadOut,
)

router = Router(tags=["Conversations"])

Number = Annotated[str, Path(description="The order number.", example="1001")]
VendorKey = Annotated[
    str,
    Path(description='Whose conversation: a vendor\'s key, or "store".', example="bobs-bikes"),
]

# What posting and handling a dispute can be refused with: a body that is not text (400) or
# too large (413), a conflict with the conversation's state (409), too many lately (429).
WRITE_REFUSALS = (400, 401, 403, 404, 409, 413, 422, 429)


def access_order(request, number: str):
    """Like the Messages page, with the guest orders of the caller's session."""
    return queries.access_order(user=request.auth, order_number=number, guests=guests_of(request))


def find_tab(access, vendor_key: str):
    access.sub_order(vendor_key)  # Http404 for a conversation outside the user's view
    return next(t for t in queries.order_tabs(access=access) if t.vendor_key == vendor_key)


def seq_range(*, last: int, before: int | None, after, limit: int) -> tuple[int, int]:
    """The first and last seq of a page of messages: those before a seq, those after a
    seq, or the newest."""
    if before is not None:
        high = min(before - 1, last)
        return max(1, high - limit + 1), high
    if after is not None:
        return after + 1, min(last, after + limit)
    return max(1, last - limit + 1), last


@router.get(
    "/conversations",
    **documented({200: ConversationPage}, 401, 422),
    operation_id="listConversations",
    summary="My conversations",
)
def list_conversations(
    request,
    after: Annotated[
        str | None, Query(description="The next_cursor of the previous page.", max_length=100)
    ] = None,
    limit: Annotated[int, Query(ge=1, le=100, description="Conversations per page.")] = 20,
):
    """Every conversation I take part in: unread ones first, then by newest activity (as
    the Messages tab of My account). Keyset-paginated: follow ``next_cursor`` until it is
    null. Store staff see the conversations they joined here; all others are under
    ``/backoffice/conversations``."""
    check_cursor(after, segments="ur")
    page = queries.inbox_page(user=request.auth, cursor=after, size=limit)
    for number in page.stale_orders:  # the store changed them without telling us
        actions.update_order_access(order_number=number)
    return {"items": [present.inbox_row(p) for p in page.rows], "next_cursor": page.next_cursor}


@router.get(
    "/orders/{number}/conversations",
    **documented({200: OrderConversations}, 401, 404),
    operation_id="listOrderConversations",
    summary="An order's conversations",
)
def order_conversations(request, number: Number):
    """The conversations of one order as its Messages page shows them, one per vendor
    (or one with the store), including those without messages yet: posting the first
    message starts one. A vendor sees only their own; an order I may not see is 404."""
    access = access_order(request, number)
    tabs = queries.order_tabs(access=access)
    return {
        "order": present.order(access),
        "conversations": [present.tab(t, access=access) for t in tabs],
    }


@router.get(
    "/orders/{number}/conversations/{vendor_key}/messages",
    **documented({200: MessagePage}, 401, 404, 422),
    operation_id="listMessages",
    summary="Read messages",
)
def list_messages(
    request,
    number: Number,
    vendor_key: VendorKey,
    before: Annotated[
        int | None,
        Query(ge=1, description="Older messages: those before this seq (a page's ``older``)."),
    ] = None,
    after: Annotated[
        int | None,
        Query(ge=0, description="Newer messages: those after this seq (a page's ``newer``)."),
    ] = None,
    start: Annotated[
        Literal["latest", "first_unread"],
        Query(
            alias="from",
            description="Without before/after: the newest page, or the page that starts at "
            "my first unread message.",
        ),
    ] = "latest",
    limit: Annotated[int, Query(ge=1, le=200, description="Messages per page.")] = 50,
):
    """A page of the conversation's messages, oldest first. Reading does not mark them
    read: call ``/read`` when the person has seen them. A conversation without messages
    yet gives an empty page."""
    if before is not None and after is not None:
        raise ValidationError(
            [{"loc": ("query", "before"), "msg": gettext("Use either before or after.")}]
        )
    access = access_order(request, number)
    tab = find_tab(access, vendor_key)
    messages, first_unread, older, newer = [], None, None, None
    if tab.conversation is not None:
        last = tab.conversation.last_seq
        if tab.last_read_seq < last:
            first_unread = tab.last_read_seq + 1
        if after is None and start == "first_unread" and first_unread:
            after = first_unread - 1
        low, high = seq_range(last=last, before=before, after=after, limit=limit)
        if low <= high:
            messages = queries.messages_between(conversation=tab.conversation, low=low, high=high)
            older = low if low > 1 else None
            newer = high if high < last else None
    return {
        "conversation": present.tab(tab, access=access),
        "messages": [present.message(m, user=request.auth) for m in messages],
        "first_unread_seq": first_unread,
        "older": older,
        "newer": newer,
    }


@router.post(
    "/orders/{number}/conversations/{vendor_key}/messages",
    **documented(
        {201: MessageOut},
        *WRITE_REFUSALS,
        headers={201: REPLAYED_HEADER},
    ),
    operation_id="postMessage",
    summary="Post a message",
)
def post_message(
    request,
    response: HttpResponse,
    payload: MessageIn,
    number: Number,
    vendor_key: VendorKey,
    idempotency_key: IdempotencyKey = None,
):
    """Post as the customer, the vendor or the store, whichever I am in this
    conversation; the first message starts the conversation. Everyone else in it is
    notified. Files go with it by their ids in ``attachments``, uploaded first with
    ``uploadAttachment``; the body may then be empty. Errors: ``empty``, ``too_long``,
    ``attachment_refused`` (422: more files than ORDER_MESSAGES_ATTACHMENT_MAX_FILES);
    ``attachment_unavailable`` (409: an upload that is not mine here or was already sent;
    nothing is posted); ``bad_encoding`` (400: NUL characters or a body that is not
    UTF-8); ``too_large`` (413); ``throttled`` (429, with Retry-After: more than
    ORDER_MESSAGES_POST_RATE_LIMIT allows)."""
    access = access_order(request, number)
    sub_order = access.sub_order(vendor_key)
    actor = access.actor_in(sub_order)

    def post():
        message = actions.post_message(
            order=access.order,
            sub_order=sub_order,
            actor=actor,
            body=payload.body,
            attachments=payload.attachments,
            limit_rate=True,
        )
        return 201, present.message(message, user=request.auth)

    asked = fingerprint(method="POST", path=request.path, payload=payload.model_dump())
    status, body, replayed = run_once(
        user=request.auth, key=idempotency_key, print_=asked, act=post
    )
    if replayed:
        response[REPLAYED] = "true"
    return Status(status, body)


@router.post(
    "/orders/{number}/conversations/{vendor_key}/read",
    **documented({200: ReadOut}, 401, 403, 404),
    operation_id="markRead",
    summary="Mark read",
)
def mark_read(request, number: Number, vendor_key: VendorKey):
    """Mark every message of the conversation read for me (what opening the Messages
    page does). Nothing to mark is not an error."""
    access = access_order(request, number)
    tab = find_tab(access, vendor_key)
    read = 0
    if tab.conversation is not None:
        read = actions.mark_read(conversation=tab.conversation, user=request.auth)
    return {"marked_read": read, "unread_total": queries.unread_total(request.auth)}


@router.post(
    "/orders/{number}/conversations/{vendor_key}/dispute",
    **documented({201: DisputeOut}, *WRITE_REFUSALS),
    operation_id="openDispute",
    summary="Open a dispute",
)
def open_dispute(request, payload: DisputeIn, number: Number, vendor_key: VendorKey):
    """The customer or store staff open a dispute: what went wrong (``reason_code``, one
    of the store's reasons: listDisputeOptions), what the customer asks for
    (``requested``) and their words (``reason``); vendors may not (403), nor anyone in
    the store's own conversation, where the store already answers (403). The seller's
    clock starts (``respond_by``); unanswered by then, the dispute is escalated to the
    store's staff. The store's staff join the conversation, a system message carries the
    reason (and the files given in ``attachments``, as for posting), everyone is notified.
    Errors: ``reason_required``, ``invalid_choice`` (a reason_code the store does not
    offer), ``attachment_refused`` (422), ``dispute_open`` when one is open already,
    ``invalid_transition`` before the conversation's first message and
    ``attachment_unavailable`` (409), ``bad_encoding`` (400), ``too_large`` (413),
    ``throttled`` (429, as for posting, and when the conversation's dispute was opened and
    closed too often lately)."""
    access = access_order(request, number)
    tab = find_tab(access, vendor_key)
    sub_order = tab.sub_order
    queries.check_may_open_dispute(
        viewer=access, sub_order=sub_order, conversation=tab.conversation
    )
    actor = access.actor_in(sub_order)
    with limit_posting(actor=actor, order_number=access.order.number):
        dispute = actions.open_dispute(
            order=access.order,
            sub_order=sub_order,
            actor=actor,
            reason=payload.reason,
            reason_code=payload.reason_code,
            requested=payload.requested,
            attachments=payload.attachments,
        )
    return Status(201, present.dispute(dispute))


@router.post(
    "/orders/{number}/conversations/{vendor_key}/dispute/close",
    **documented({200: DisputeOut}, *WRITE_REFUSALS),
    operation_id="closeDispute",
    summary="Resolve or withdraw the dispute",
)
def close_dispute(
    request, number: Number, vendor_key: VendorKey, payload: DisputeCloseIn | None = None
):
    """Store staff resolve the open (or escalated) dispute with an ``outcome`` and a
    ``note`` for the customer; without an outcome: ``outcome_required`` (422). A customer
    closing their own dispute withdraws it (the body may be left out); vendors may not
    (403). A system message tells everyone. ``invalid_choice`` (422) for an outcome a
    customer cannot give or a note that is too long, ``bad_encoding`` (400),
    ``invalid_transition`` (409) when none is open; ``throttled`` (429) when the
    conversation's dispute was opened and closed too often lately
    (``ORDER_MESSAGES_DISPUTE_RATE_LIMIT``). A resolved dispute can be followed by a new
    one."""
    payload = payload or DisputeCloseIn()
    access = access_order(request, number)
    tab = find_tab(access, vendor_key)
    queries.check_may_handle_disputes(viewer=access, sub_order=tab.sub_order)
    dispute = None
    if tab.conversation is not None:
        dispute = actions.close_dispute(
            conversation=tab.conversation,
            actor=access.actor_in(tab.sub_order),
            outcome=payload.outcome,
            note=payload.note,
        )
    if dispute is None:
        raise InvalidTransition(gettext("There is no open dispute to close."))
    return present.dispute(dispute)


@router.get(
    "/orders/{number}/conversations/{vendor_key}/disputes",
    **documented({200: DisputeList}, 401, 404),
    operation_id="listDisputes",
    summary="The conversation's disputes",
)
def list_disputes(request, number: Number, vendor_key: VendorKey):
    """Every dispute the conversation has had, newest first: the running one, if any, and
    the resolved ones with their outcomes and notes. Whoever may read the conversation
    may read them (vendors too); a conversation without any gives an empty list."""
    access = access_order(request, number)
    tab = find_tab(access, vendor_key)
    disputes = dispute_history(conversation=tab.conversation)
    return {"items": [present.dispute(d) for d in disputes]}


@router.get(
    "/dispute-options",
    **documented({200: DisputeOptions}, 401),
    operation_id="listDisputeOptions",
    summary="What a dispute can say",
)
def list_dispute_options(request):
    """The reasons the store offers for a dispute, what a customer can ask for, and the
    outcomes store staff can resolve one with: keys to send, labels to show, in the
    request's language (Accept-Language)."""
    return present.dispute_options()
