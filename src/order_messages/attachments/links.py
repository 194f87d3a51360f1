"""Links to files in e-mails: signed, for the address the e-mail went to, and expiring
(ORDER_MESSAGES_ATTACHMENT_LINK_MAX_AGE). Whoever opens one still has to be someone who
may read the conversation now; the policy asks the store again."""

from __future__ import annotations

from django.core import signing
from django.urls import reverse

from ..conf import app_settings

SALT = "order_messages.attachment_link"


def make_file_token(*, attachment_id: int, email: str, user_id: int | None) -> str:
    return signing.dumps({"a": attachment_id, "e": email.lower(), "u": user_id}, salt=SALT)


def read_file_token(token: str) -> tuple[int, str, int | None]:
    """(attachment id, address, user id). Raises SignatureExpired or BadSignature."""
    data = signing.loads(token, salt=SALT, max_age=app_settings.ATTACHMENT_LINK_MAX_AGE)
    try:
        user_id = data["u"]
        return int(data["a"]), str(data["e"]), int(user_id) if user_id is not None else None
    except (TypeError, KeyError, ValueError):
        raise signing.BadSignature("Malformed file link.") from None


def file_link(*, attachment_id: int, email: str, user_id: int | None) -> str:
    """The absolute link to put in an e-mail to this address."""
    token = make_file_token(attachment_id=attachment_id, email=email, user_id=user_id)
    path = reverse("order_messages:mailed_file", kwargs={"token": token})
    return app_settings.SITE_URL.rstrip("/") + path
