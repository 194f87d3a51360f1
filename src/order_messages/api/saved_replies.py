"""Saved replies: the texts vendors' staff and store staff insert into a message, their own
and the store's shared ones. The same queries and actions as the saved-replies page."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from django.utils.translation import gettext
from ninja import Field, Path, Query, Router, Schema, Status
from ninja.errors import ValidationError

from .. import actions, queries
from ..models import SavedReply
from ..policy import Scope
from .auth import guests_of
from .errors import documented

router = Router(tags=["Saved replies"])

ReplyId = Annotated[
    int,
    # Within a database integer: a larger id cannot exist and would not fit a query.
    Path(ge=1, le=2**63 - 1, description="The saved reply's id.", example=3),
]

PLACEHOLDERS_DOC = (
    "{customer_name}, {order_number} and {vendor_name} are filled in for a conversation; "
    "any other {…} stays as written."
)


class SavedReplyIn(Schema):
    title: str = Field(description="One line, at most 100 characters.")
    body: str = Field(
        description="Plain text, at most ORDER_MESSAGES_MAX_MESSAGE_LENGTH. " + PLACEHOLDERS_DOC
    )
    shared: bool = Field(
        False,
        description="Everyone answering customers may use it (every vendor's staff and the "
        "store's). Only store staff may share: forbidden (403) for vendors.",
    )


class SavedReplyUpdate(Schema):
    title: str = Field(description="One line, at most 100 characters.")
    body: str = Field(description="Plain text, at most ORDER_MESSAGES_MAX_MESSAGE_LENGTH.")
    shared: bool | None = Field(None, description="Null or absent: as it is. Store staff only.")


class SavedReplyOut(Schema):
    id: int
    title: str
    body: str = Field(description="As written, with its placeholders. " + PLACEHOLDERS_DOC)
    text: str | None = Field(
        description="The body filled in for the conversation given as ``order`` and "
        "``vendor_key``; null without them. Plain text, never HTML."
    )
    shared: bool
    mine: bool = Field(description="Written by me.")
    editable: bool = Field(description="I may change and delete it.")
    created_at: datetime
    updated_at: datetime


class SavedReplyList(Schema):
    items: list[SavedReplyOut] = Field(description="My own by title, then the shared ones.")


def _out(reply: SavedReply, *, scope: Scope, text: str | None = None) -> dict:
    return {
        "id": reply.pk,
        "title": reply.title,
        "body": reply.body,
        "text": text,
        "shared": reply.shared,
        "mine": reply.owner_id == scope.user.pk,
        "editable": queries.may_edit_saved_reply(scope, reply),
        "created_at": reply.created_at,
        "updated_at": reply.updated_at,
    }


@router.get(
    "",
    **documented({200: SavedReplyList}, 401, 403, 404, 422),
    operation_id="listSavedReplies",
    summary="My saved replies",
)
def list_saved_replies(
    request,
    order: Annotated[
        str | None,
        Query(
            max_length=100,
            description="With vendor_key: fill each reply in for this order's conversation "
            "(``text``). 404 for a conversation I may not read.",
        ),
    ] = None,
    vendor_key: Annotated[
        str | None,
        Query(max_length=100, description='The conversation\'s vendor key, or "store".'),
    ] = None,
):
    """The replies I may insert: my own, then the store's shared ones, each by title.
    Vendors' staff and store staff only (403 for customers)."""
    scope = queries.access_backoffice(user=request.auth)
    if (order is None) != (vendor_key is None):
        raise ValidationError(
            [{"loc": ("query", "order"), "msg": gettext("Give both order and vendor_key.")}]
        )
    fill = None
    if order is not None:
        access = queries.access_order(
            user=request.auth, order_number=order, guests=guests_of(request)
        )
        sub_order = access.sub_order(vendor_key)
        fill = {"order": access.order, "sub_order": sub_order}
    replies = queries.usable_replies(user=scope.user)
    return {
        "items": [
            _out(
                reply,
                scope=scope,
                text=queries.fill_placeholders(reply.body, **fill) if fill else None,
            )
            for reply in replies
        ]
    }


@router.post(
    "",
    **documented({201: SavedReplyOut}, 400, 401, 403, 413, 422),
    operation_id="createSavedReply",
    summary="Save a reply",
)
def create_saved_reply(request, payload: SavedReplyIn):
    """A new reply of mine. Errors: ``title_required``, ``empty`` (no text), ``too_long``
    (422), ``bad_encoding`` (400), ``too_large`` (413), ``forbidden`` (403: a customer, or
    a vendor sharing it)."""
    scope = queries.access_backoffice(user=request.auth)
    reply = actions.create_saved_reply(
        scope=scope, title=payload.title, body=payload.body, shared=payload.shared
    )
    return Status(201, _out(reply, scope=scope))


@router.put(
    "/{reply_id}",
    **documented({200: SavedReplyOut}, 400, 401, 403, 404, 413, 422),
    operation_id="updateSavedReply",
    summary="Change a saved reply",
)
def update_saved_reply(request, reply_id: ReplyId, payload: SavedReplyUpdate):
    """Change one of my own replies, or (store staff) a shared one. Someone else's own
    reply is 404; a shared one, for a vendor, 403. The errors of ``createSavedReply``."""
    scope = queries.access_backoffice(user=request.auth)
    reply = queries.access_saved_reply(scope=scope, reply_id=reply_id)
    reply = actions.update_saved_reply(
        scope=scope, reply=reply, title=payload.title, body=payload.body, shared=payload.shared
    )
    return _out(reply, scope=scope)


@router.delete(
    "/{reply_id}",
    **documented({204: None}, 401, 403, 404, 422),
    operation_id="deleteSavedReply",
    summary="Delete a saved reply",
)
def delete_saved_reply(request, reply_id: ReplyId):
    """Delete one of my own replies, or (store staff) a shared one; as for changing."""
    scope = queries.access_backoffice(user=request.auth)
    reply = queries.access_saved_reply(scope=scope, reply_id=reply_id)
    actions.delete_saved_reply(reply=reply)
    return Status(204, None)
