"""A real SMTP server for tests (aiosmtpd on 127.0.0.1): it keeps every envelope it
accepts, can refuse the next N messages with a chosen reply, and can be stopped and
started again on the same port.

Delivery is synchronous from the client's side: once Django's SMTP backend has returned,
the server has stored the message (or refused it).
"""

from __future__ import annotations

import email
import email.policy
import socket
import threading
from dataclasses import dataclass
from email.message import EmailMessage

from aiosmtpd.controller import Controller

TRY_AGAIN = "451 4.3.0 Try again later"
NO_SUCH_USER = "550 5.1.1 No such user"


@dataclass(frozen=True)
class Received:
    mail_from: str
    rcpt_tos: tuple[str, ...]
    content: bytes

    @property
    def message(self) -> EmailMessage:
        return email.message_from_bytes(self.content, policy=email.policy.default)


class Handler:
    """aiosmtpd handler: refuses while refusals are queued, else stores the envelope."""

    def __init__(self):
        self.lock = threading.Lock()
        self.received: list[Received] = []
        self.refusals: list[tuple[str, str]] = []  # (stage "RCPT" or "DATA", reply)
        self.refused: list[str] = []  # replies given, in order

    def _refusal(self, stage: str) -> str | None:
        with self.lock:
            if self.refusals and self.refusals[0][0] == stage:
                reply = self.refusals.pop(0)[1]
                self.refused.append(reply)
                return reply
        return None

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        reply = self._refusal("RCPT")
        if reply:
            return reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        reply = self._refusal("DATA")
        if reply:
            return reply
        with self.lock:
            self.received.append(
                Received(envelope.mail_from, tuple(envelope.rcpt_tos), bytes(envelope.content))
            )
        return "250 Message accepted for delivery"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class SMTPServer:
    host = "127.0.0.1"

    def __init__(self):
        self.handler = Handler()
        self.port = free_port()
        self.controller: Controller | None = None

    # -- running ------------------------------------------------------------------------------

    @property
    def running(self) -> bool:
        return self.controller is not None

    def start(self) -> None:
        if self.controller is None:
            controller = Controller(self.handler, hostname=self.host, port=self.port)
            controller.start()
            self.controller = controller

    def stop(self) -> None:
        """Stop listening: clients then get "connection refused"."""
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    # -- behaviour ----------------------------------------------------------------------------

    def refuse(self, count: int = 1, reply: str = TRY_AGAIN, *, stage: str = "DATA") -> None:
        """Answer ``reply`` to the next ``count`` messages, at RCPT TO or at DATA."""
        assert stage in ("RCPT", "DATA")
        with self.handler.lock:
            self.handler.refusals.extend([(stage, reply)] * count)

    def reset(self) -> None:
        with self.handler.lock:
            self.handler.received.clear()
            self.handler.refusals.clear()
            self.handler.refused.clear()

    # -- what arrived -------------------------------------------------------------------------

    @property
    def received(self) -> list[Received]:
        with self.handler.lock:
            return list(self.handler.received)

    @property
    def refused(self) -> list[str]:
        with self.handler.lock:
            return list(self.handler.refused)

    def messages(self, to: str | None = None) -> list[EmailMessage]:
        """The messages received, parsed, optionally only those for one address."""
        return [r.message for r in self.received if to is None or to in r.rcpt_tos]

    def message_ids(self) -> list[str]:
        return [r.message["Message-ID"] for r in self.received]
