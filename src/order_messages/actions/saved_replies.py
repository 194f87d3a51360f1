"""Saved replies: written, changed and removed on the saved-replies page
and through the API. Who may do which is checked before (``queries.saved_replies``):
these trust the scope and the reply they are given, and check the text."""

from __future__ import annotations

from django.utils.translation import gettext

from ..conf import app_settings
from ..errors import EmptyMessage, MessageTooLong, OrderMessagesError
from ..models import SavedReply
from ..policy import Scope, check_may_share_reply
from .messages import check_text

TITLE_LENGTH = SavedReply._meta.get_field("title").max_length


def _title(title: str) -> str:
    title = " ".join((title or "").split())  # one line, as the menu shows it
    check_text(title)
    if not title:
        raise OrderMessagesError(gettext("Please give the reply a title."), code="title_required")
    if len(title) > TITLE_LENGTH:
        raise MessageTooLong(
            gettext("A title can have at most %(limit)d characters (this one has %(n)d).")
            % {"limit": TITLE_LENGTH, "n": len(title)}
        )
    return title


def _body(body: str) -> str:
    # Kept as a message would be (it is sent as one): line breaks kept, ends trimmed.
    body = body or ""
    check_text(body)
    body = body.replace("\r\n", "\n").strip()
    if not body:
        raise EmptyMessage(gettext("Please write the text of the reply."))
    limit = app_settings.MAX_MESSAGE_LENGTH
    if len(body) > limit:
        raise MessageTooLong(
            gettext("A reply can have at most %(limit)d characters (this one has %(n)d).")
            % {"limit": limit, "n": len(body)}
        )
    return body


def _checked(field: str, clean, value: str) -> str:
    try:
        return clean(value)
    except OrderMessagesError as error:
        error.field = field  # which one the person is to correct
        raise


def clean_saved_reply(*, title: str, body: str) -> tuple[str, str]:
    """The title and text to store, or the first refusal; its ``field`` ("title" or
    "body") says which one to correct."""
    return _checked("title", _title, title), _checked("body", _body, body)


def create_saved_reply(*, scope: Scope, title: str, body: str, shared: bool = False) -> SavedReply:
    """A new reply of the person's own; store staff may share it with everyone who answers
    customers (PermissionDenied for anyone else)."""
    check_may_share_reply(scope=scope, shared=shared)
    title, body = clean_saved_reply(title=title, body=body)
    return SavedReply.objects.create(owner=scope.user, title=title, body=body, shared=shared)


def update_saved_reply(
    *, scope: Scope, reply: SavedReply, title: str, body: str, shared: bool | None = None
) -> SavedReply:
    """Change a reply the person may change (``access_saved_reply``). ``shared`` None keeps
    it as it is."""
    if shared is not None:
        check_may_share_reply(scope=scope, shared=shared)
    reply.title, reply.body = clean_saved_reply(title=title, body=body)
    if shared is not None:
        reply.shared = shared
    reply.save(update_fields=["title", "body", "shared", "updated_at"])
    return reply


def delete_saved_reply(*, reply: SavedReply) -> None:
    """Remove a reply the person may change (``access_saved_reply``)."""
    reply.delete()
