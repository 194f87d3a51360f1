"""A person's e-mail preferences and muted conversations (N3): what the preferences page
shows and changes. Unmuting is all the API offers for mutes; muting is the e-mails'
one-click unsubscribe."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from django.conf import settings
from ninja import Field, Path, Query, Router, Schema, Status
from ninja.errors import ValidationError

from .. import actions, queries
from ..forms import PreferencesForm
from ..models import NotificationSettings
from ..queries.preferences import email_preferences, muted_page
from .cursors import check_cursor
from .errors import documented

router = Router(tags=["E-mail preferences"])

Frequency = Annotated[
    Literal[tuple(NotificationSettings.Frequency.values)],  # type: ignore[misc]
    Field(
        description="each: an e-mail per message (a burst becomes one); digest: one e-mail "
        "a day at most; off: none about messages. E-mails about disputes are always sent.",
    ),
]


class EmailPreferencesOut(Schema):
    frequency: Frequency
    language: str = Field(
        description="The language of my e-mails (a code of the store's LANGUAGES); empty "
        "for the shop's language."
    )
    languages: list[str] = Field(description="The codes language may take, besides empty.")


class EmailPreferencesIn(Schema):
    frequency: Frequency
    language: str = Field(
        "", max_length=16, description="A code listed in languages, or empty: the shop's."
    )


class MutedConversationOut(Schema):
    conversation_id: int
    order_number: str
    vendor_key: str
    title: str
    muted_at: datetime


class MutedPage(Schema):
    items: list[MutedConversationOut] = Field(description="The latest muted first.")
    next_cursor: str | None = Field(
        description="Pass as ``after`` for the next page; null on the last page."
    )


def _preferences(user) -> dict:
    current = email_preferences(user=user)
    return {
        "frequency": current.frequency,
        "language": current.language,
        "languages": [code for code, _name in settings.LANGUAGES],
    }


@router.get(
    "/email-preferences",
    **documented({200: EmailPreferencesOut}, 401),
    operation_id="getEmailPreferences",
    summary="My e-mail preferences",
)
def get_email_preferences(request):
    """How often I get e-mails about new messages, and in which language."""
    return _preferences(request.auth)


@router.put(
    "/email-preferences",
    **documented({200: EmailPreferencesOut}, 400, 401, 413, 422),
    operation_id="updateEmailPreferences",
    summary="Change my e-mail preferences",
)
def update_email_preferences(request, payload: EmailPreferencesIn):
    """Save both choices, as the preferences page does. A frequency or language not
    offered is ``validation_error`` (422), with the field in ``details``."""
    # The page's form, so that the page and the API accept exactly the same choices.
    form = PreferencesForm(payload.model_dump())
    if not form.is_valid():
        raise ValidationError(
            [
                {"loc": ("body", "payload", name), "msg": " ".join(messages)}
                for name, messages in form.errors.items()
            ]
        )
    actions.save_email_preferences(user=request.auth, **form.cleaned_data)
    return _preferences(request.auth)


@router.get(
    "/muted-conversations",
    **documented({200: MutedPage}, 401, 422),
    operation_id="listMutedConversations",
    summary="Conversations I muted",
)
def list_muted_conversations(
    request,
    after: Annotated[
        str | None, Query(description="The next_cursor of the previous page.", max_length=100)
    ] = None,
    limit: Annotated[int, Query(ge=1, le=100, description="Conversations per page.")] = 50,
):
    """Conversations whose message e-mails I stopped with the link at the bottom of an
    e-mail (to my account's address), the latest muted first: those I may read now (a
    page may hold fewer than ``limit``; follow ``next_cursor`` until it is null)."""
    check_cursor(after, segments="m")
    mutes, next_cursor = muted_page(user=request.auth, cursor=after, size=limit)
    return {
        "items": [
            {
                "conversation_id": mute.conversation_id,
                "order_number": mute.conversation.order_number,
                "vendor_key": mute.conversation.vendor_key,
                "title": str(mute.conversation.title),
                "muted_at": mute.created_at,
            }
            for mute in mutes
        ],
        "next_cursor": next_cursor,
    }


@router.delete(
    "/muted-conversations/{conversation_id}",
    **documented({204: None}, 401, 404, 422),
    operation_id="unmuteConversation",
    summary="Unmute a conversation",
)
def unmute_conversation(
    request,
    conversation_id: Annotated[
        int,
        Path(ge=1, le=2**63 - 1, description="The muted conversation's id.", examples=[7]),
    ],
):
    """E-mails about the conversation come again. One I have not muted is 404."""
    mute = queries.access_mute(user=request.auth, conversation_id=conversation_id)
    actions.unmute_conversation(conversation=mute.conversation, email=mute.email)
    return Status(204, None)
