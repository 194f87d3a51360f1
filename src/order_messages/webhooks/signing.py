"""Signing webhooks in the Standard Webhooks format (https://www.standardwebhooks.com/).

Headers ``webhook-id``, ``webhook-timestamp`` (Unix seconds) and ``webhook-signature``:
``v1,`` and the base64 HMAC-SHA256 of ``"{id}.{timestamp}.{body}"``. The secret is
``whsec_`` and the base64 of the key's bytes. Receivers verify with any Standard Webhooks
library, e.g. ``standardwebhooks.webhooks.Webhook(secret).verify(body, headers)``; a store
that has this app installed may use ``verify_webhook`` below.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
import time

PREFIX = "whsec_"
KEY_BYTES = 32
# The Standard Webhooks libraries accept keys of 24 to 64 bytes.
MIN_KEY_BYTES, MAX_KEY_BYTES = 24, 64
TOLERANCE = 5 * 60  # seconds a signature stays acceptable either side of the clock


def new_secret() -> str:
    return PREFIX + base64.b64encode(secrets.token_bytes(KEY_BYTES)).decode()


def key_of(secret: str) -> bytes:
    """The HMAC key a secret stands for, decoded as the Standard Webhooks libraries decode
    it, so that whatever string is stored, the receiver's library and we agree."""
    encoded = secret.removeprefix(PREFIX)
    return base64.b64decode(encoded + "==")


def check_secret(secret: str) -> None:
    """Raise ValueError unless ``secret`` is ``whsec_`` and the strict base64 of a key of
    24 to 64 bytes."""
    if not secret.startswith(PREFIX):
        raise ValueError("missing prefix")
    try:
        key = base64.b64decode(secret.removeprefix(PREFIX), validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("not base64") from None
    if not MIN_KEY_BYTES <= len(key) <= MAX_KEY_BYTES:
        raise ValueError("wrong key length")


def sign(*, secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    signed = f"{msg_id}.{timestamp}.".encode() + body
    digest = hmac.new(key_of(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def signed_headers(*, msg_id: str, secret: str, body: bytes, timestamp: int | None = None):
    """The three Standard Webhooks headers for one request, signed now."""
    timestamp = int(time.time()) if timestamp is None else timestamp
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": sign(secret=secret, msg_id=msg_id, timestamp=timestamp, body=body),
    }


def verify_webhook(secret: str, headers, body: bytes, *, now: float | None = None) -> bool:
    """True if ``body`` with these request ``headers`` was signed with ``secret`` within
    the last five minutes (or next: clocks differ). Pass the raw body bytes."""
    headers = {name.lower(): value for name, value in headers.items()}
    msg_id = headers.get("webhook-id") or ""
    try:
        timestamp = int(headers.get("webhook-timestamp") or "")
        key_of(secret)
    except (TypeError, ValueError, binascii.Error):
        return False
    if not msg_id or abs((time.time() if now is None else now) - timestamp) > TOLERANCE:
        return False
    expected = sign(secret=secret, msg_id=msg_id, timestamp=timestamp, body=body)
    # Several signatures may come, separated by spaces (e.g. while a secret is rotated).
    given = (headers.get("webhook-signature") or "").split()
    return any(hmac.compare_digest(expected, signature) for signature in given)
