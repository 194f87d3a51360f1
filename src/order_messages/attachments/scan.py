"""The optional virus scan: ClamAV's daemon, asked over its socket (INSTREAM), when
ORDER_MESSAGES_ATTACHMENT_CLAMD names one."""

from __future__ import annotations

import logging
import socket
import struct

from django.utils.translation import gettext as _

from ..conf import app_settings
from ..errors import AttachmentRefused, ScanUnavailable

logger = logging.getLogger(__name__)

CHUNK = 64 * 1024
TIMEOUT = 30


def _connect(target: str) -> socket.socket:
    if target.startswith("/"):
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(TIMEOUT)
        sock.connect(target)
        return sock
    host, _sep, port = target.rpartition(":")
    return socket.create_connection((host.strip("[]"), int(port)), timeout=TIMEOUT)


def scan(*, name: str, content: bytes) -> None:
    """Refuse the file if the scanner finds something in it; refuse every file while a
    configured scanner cannot be asked (ScanUnavailable), rather than let one through
    unchecked."""
    target = app_settings.ATTACHMENT_CLAMD
    if not target:
        return
    try:
        with _connect(target) as sock:
            sock.sendall(b"zINSTREAM\0")
            for start in range(0, len(content), CHUNK):
                chunk = content[start : start + CHUNK]
                sock.sendall(struct.pack("!L", len(chunk)) + chunk)
            sock.sendall(struct.pack("!L", 0))
            reply = b""
            while not reply.endswith(b"\0"):
                part = sock.recv(4096)
                if not part:
                    break
                reply += part
    except (OSError, ValueError) as error:
        logger.error("The virus scanner at %s cannot be reached: %s", target, error)
        raise ScanUnavailable() from None
    answer = reply.rstrip(b"\0").decode("utf-8", "replace").strip()
    if answer.endswith(" OK"):
        return
    if answer.endswith(" FOUND"):
        found = answer.removeprefix("stream:").removesuffix(" FOUND").strip()
        logger.warning("The virus scanner refused %r: %s", name, found)
        raise AttachmentRefused(
            _("“%(name)s” cannot be attached: the virus scanner found %(found)s in it.")
            % {"name": name, "found": found}
        )
    logger.error("The virus scanner at %s answered %r", target, answer)
    raise ScanUnavailable()
