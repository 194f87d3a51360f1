"""Links to files in e-mails: signed, for the address the e-mail went to, and expiring
(ORDER_MESSAGES_ATTACHMENT_LINK_MAX_AGE). Whoever opens one still has to be someone who
may read the conversation now; the policy asks the store again."""

from __future__ import annotations

from dataclasses import dataclass

from django.core import signing
from django.urls import reverse

from ..conf import app_settings

SALT = "order_messages.attachment_link"


@dataclass(frozen=True)
class FileToken:
    attachment_id: int
    email: str
    user_id: int | None
    # For the store's orders address, which is no one's account: staff sign in to open it.
    store: bool = False

    @property
    def for_a_guest(self) -> bool:
        """Opened by the address alone: the order's guest customer, who has no account."""
        return self.user_id is None and not self.store


def make_file_token(
    *, attachment_id: int, email: str, user_id: int | None, store: bool = False
) -> str:
    data = {"a": attachment_id, "e": email.lower(), "u": user_id}
    if store:
        data["s"] = 1
    return signing.dumps(data, salt=SALT)


def read_file_token(token: str) -> FileToken:
    """What a link is for. Raises SignatureExpired or BadSignature."""
    data = signing.loads(token, salt=SALT, max_age=app_settings.ATTACHMENT_LINK_MAX_AGE)
    try:
        user_id = data["u"]
        return FileToken(
            attachment_id=int(data["a"]),
            email=str(data["e"]),
            user_id=int(user_id) if user_id is not None else None,
            store=bool(data.get("s")),
        )
    except (TypeError, KeyError, ValueError, AttributeError):
        raise signing.BadSignature("Malformed file link.") from None


def file_link(*, attachment_id: int, email: str, user_id: int | None, store: bool = False) -> str:
    """The absolute link to put in an e-mail to this address (``store``: the store's
    orders address)."""
    token = make_file_token(attachment_id=attachment_id, email=email, user_id=user_id, store=store)
    path = reverse("order_messages:mailed_file", kwargs={"token": token})
    return app_settings.SITE_URL.rstrip("/") + path
