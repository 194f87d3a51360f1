"""A person's e-mail preferences and the conversations whose e-mails they muted (N3), as
the preferences page and the API read them."""

from __future__ import annotations

from dataclasses import dataclass

from ..models import Mute, NotificationSettings
from ..policy import may_read_conversations
from .cursors import newest_first_page


@dataclass(frozen=True)
class EmailPreferences:
    frequency: str
    # "" for the shop's language.
    language: str


def email_preferences(*, user) -> EmailPreferences:
    """What the person chose, or the defaults before they chose anything."""
    current = NotificationSettings.objects.filter(user=user).first()
    if current is None:
        return EmailPreferences(frequency=NotificationSettings.Frequency.EACH, language="")
    return EmailPreferences(frequency=current.frequency, language=current.language)


def muted_page(*, user, cursor: str | None = None, size: int = 50) -> tuple[list[Mute], str | None]:
    """The person's muted conversations, newest mute first, keyset-paginated: those muted
    for their account's address (a mute belongs to an address, see ``Mute``) that they may
    read now. One they no longer may is not named to them, though its mute stays: it keeps
    the address quiet should the store give the order back."""
    if not user.email:
        return [], None
    mutes = Mute.objects.filter(email__iexact=user.email.strip()).select_related("conversation")
    rows, next_cursor = newest_first_page(mutes, segment="m", cursor=cursor, size=size)
    readable = may_read_conversations(user=user, conversation_ids={m.conversation_id for m in rows})
    return [m for m in rows if m.conversation_id in readable], next_cursor
