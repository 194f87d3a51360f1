"""E-mail preferences and muted conversations (N3)."""

from __future__ import annotations

from ..models import Conversation, Mute, NotificationSettings


def mute_conversation(*, conversation: Conversation, email: str) -> bool:
    """No more message e-mails about the conversation to this address. True if it was new."""
    _mute, created = Mute.objects.get_or_create(
        conversation=conversation, email=email.strip().lower()
    )
    return created


def unmute_conversation(*, conversation: Conversation, email: str) -> bool:
    deleted, _ = Mute.objects.filter(
        conversation=conversation, email__iexact=email.strip()
    ).delete()
    return bool(deleted)


def save_email_preferences(*, user, frequency: str, language: str) -> NotificationSettings:
    if frequency not in NotificationSettings.Frequency.values:
        raise ValueError(f"Unknown frequency {frequency!r}")
    preferences, _ = NotificationSettings.objects.update_or_create(
        user=user, defaults={"frequency": frequency, "language": language}
    )
    return preferences
