"""Signed addresses and links in e-mails: reply-to addresses (N4) and one-click
unsubscribe links (N3)."""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass, field
from datetime import date

from django.core import signing
from django.utils.crypto import constant_time_compare, salted_hmac

from ..conf import app_settings

REPLY_SALT = "order_messages.reply-address"
UNSUBSCRIBE_SALT = "order_messages.unsubscribe"
GUEST = 0  # user part of a guest customer's reply address; user ids start at 1
SIGNATURE_LENGTH = 20  # base32 characters: 100 bits
# base32 characters naming the address a reply address was issued to: not a secret (the
# signature covers it), only a binding, so another sender cannot use the address.
ADDRESS_TAG_LENGTH = 6

# Lower case only: mail systems may change the case of a local part.
# Addresses issued before they named their recipient's address have no tag; they work as
# they did (the sender must be the recipient's address of now) until they expire.
REPLY_LOCAL = re.compile(
    r"^reply\+([0-9a-z]{1,13})-([0-9a-z]{1,13})-([0-9a-z]{1,8})(?:-([a-z2-7]{6}))?-([a-z2-7]{20})$"
)


class InvalidReplyAddress(Exception):
    """Not an address this app issued (forged, mistyped, or another site's)."""


class ExpiredReplyAddress(InvalidReplyAddress):
    """An address this app issued, too long ago."""


@dataclass(frozen=True)
class ReplyAddress:
    conversation_id: int
    user_id: int | None  # None: the conversation's guest customer
    issued_on: date
    address_tag: str = field(default="", compare=False)

    def issued_to(self, email: str) -> bool:
        """Whether the address was issued to this e-mail address (an address without a tag
        names none: the policy's check of the sender's address of now is all there is)."""
        if not self.address_tag:
            return True
        return constant_time_compare(self.address_tag, _address_tag(email))


def _base36(number: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    text = ""
    while True:
        number, rest = divmod(number, 36)
        text = digits[rest] + text
        if not number:
            return text


def _signature(value: str) -> str:
    digest = salted_hmac(REPLY_SALT, value, algorithm="sha256").digest()
    return base64.b32encode(digest).decode().lower()[:SIGNATURE_LENGTH]


def _address_tag(email: str) -> str:
    digest = salted_hmac(REPLY_SALT + ".to", email.strip().lower(), algorithm="sha256").digest()
    return base64.b32encode(digest).decode().lower()[:ADDRESS_TAG_LENGTH]


def make_reply_address(
    *, conversation_id: int, user_id: int | None, email: str, today: date
) -> str:
    """``reply+…@REPLY_DOMAIN`` for this recipient and conversation, bound to the address
    it is sent to, or "" when reply by e-mail is off. Usable any number of times until it
    expires."""
    domain = app_settings.REPLY_DOMAIN
    if not domain:
        return ""
    numbers = (conversation_id, user_id or GUEST, today.toordinal())
    value = "-".join([*(_base36(n) for n in numbers), _address_tag(email)])
    return f"reply+{value}-{_signature(value)}@{domain}"


def read_reply_address(address: str, *, today: date) -> ReplyAddress:
    """The recipient and conversation of a reply address, or InvalidReplyAddress /
    ExpiredReplyAddress."""
    local, _, domain = address.strip().strip("<>").rpartition("@")
    match = REPLY_LOCAL.match(local.lower())
    expected_domain = app_settings.REPLY_DOMAIN.lower()
    if not match or not expected_domain or domain.lower() != expected_domain:
        raise InvalidReplyAddress(address)
    value = "-".join(part for part in match.group(1, 2, 3, 4) if part is not None)
    if not constant_time_compare(_signature(value), match.group(5)):
        raise InvalidReplyAddress(address)
    conversation_id, user_id, day = (int(part, 36) for part in match.group(1, 2, 3))
    try:
        issued_on = date.fromordinal(day)
    except ValueError as error:
        raise InvalidReplyAddress(address) from error
    if (today - issued_on).days > app_settings.REPLY_ADDRESS_MAX_AGE_DAYS:
        raise ExpiredReplyAddress(address)
    return ReplyAddress(conversation_id, user_id or None, issued_on, match.group(4) or "")


def make_unsubscribe_token(*, conversation_id: int, email: str) -> str:
    return signing.dumps({"c": conversation_id, "e": email}, salt=UNSUBSCRIBE_SALT, compress=True)


def read_unsubscribe_token(token: str) -> tuple[int, str]:
    """(conversation id, e-mail address), or signing.BadSignature."""
    data = signing.loads(token, salt=UNSUBSCRIBE_SALT)
    if not isinstance(data, dict) or not isinstance(data.get("c"), int):
        raise signing.BadSignature("Malformed unsubscribe token.")
    return data["c"], str(data.get("e", ""))
