"""The files of an inbound e-mail: the parts to post as attachments, what staff are told
of those refused, and the mail as it is kept for staff, each file replaced by a line
that names it (files go to the attachment storage or nowhere, never into a column)."""

from __future__ import annotations

import email
import email.message
import email.policy
import re
from collections.abc import Iterator
from dataclasses import dataclass

from .replies import is_attachment, leaf_parts

# Headers exactly as they came: staff read the mail as the sender's client wrote it.
_KEEP_HEADERS = email.policy.default.clone(refold_source="none")
# Four or more lines that look like base64: what the fallback takes for a file's content.
_ENCODED_RUN = re.compile(r"(?m)(?:^[A-Za-z0-9+/]{16,}={0,2}\r?\n){4,}")
_PATH = re.compile(r"^.*[/\\]")
# Images shown in a mail's HTML: <img src="cid:image001.png@01DA…">.
_CID_REFERENCE = re.compile(r"cid:([^\s\"'<>)]+)", re.I)
# Inline images up to this size that the HTML shows are taken for a signature's logos.
SIGNATURE_IMAGE_BYTES = 24 * 1024


@dataclass(frozen=True)
class MailFile:
    """A file attached to an e-mail: its name as sent, and its bytes (None when the part
    holds no file, e.g. a forwarded e-mail)."""

    name: str
    content: bytes | None


def shown(text: str) -> str:
    """``text`` fit for a note staff read: what is not printable (line breaks, NUL, halves
    of characters from broken encodings) becomes "?"."""
    return "".join(c if c.isprintable() else "?" for c in text)


def _shown_in_html(message: email.message.Message) -> set[str]:
    """The Content-IDs the mail's HTML shows in its text (``cid:`` references)."""
    shown = set()
    for part in leaf_parts(message):
        if part.get_content_type() != "text/html":
            continue
        payload = part.get_payload(decode=True)
        if isinstance(payload, bytes):
            text = payload.decode("ascii", "replace")
            shown.update(ref.lower() for ref in _CID_REFERENCE.findall(text))
    return shown


def _is_signature_image(part: email.message.Message, shown: set[str]) -> bool:
    """A small image the HTML shows inline: a logo of the sender's signature (Outlook's
    image001.png), not a file they meant to send. Photos shown inline are far larger."""
    content_id = str(part.get("Content-ID", "")).strip().strip("<>").lower()
    if not content_id or content_id not in shown or part.get_content_maintype() != "image":
        return False
    payload = part.get_payload(decode=True)
    return isinstance(payload, bytes) and len(payload) <= SIGNATURE_IMAGE_BYTES


def attached_files(message: email.message.Message) -> list[MailFile]:
    """The files of a reply in the order the sender attached them: parts with a file name,
    or marked as attachments (inline photos from a phone are files too), but not the
    small images of a signature."""
    files = []
    shown = _shown_in_html(message)
    for part in leaf_parts(message):
        if not is_attachment(part) or _is_signature_image(part, shown):
            continue
        # Some mail clients send the path the file had on the sender's computer.
        name = _PATH.sub("", str(part.get_filename() or "")).strip() or "attachment"
        content = None
        if part.get_content_maintype() not in ("multipart", "message"):
            payload = part.get_payload(decode=True)
            content = payload if isinstance(payload, bytes) else None
        files.append(MailFile(name=name, content=content))
    return files


def shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def refusal_note(refused: list[str], *, files: int, limit: int = 200) -> str:
    """One line for the InboundMail row (``limit`` characters): how many files were
    refused, then each refusal (it names the file and says why), each cut to a fair share
    of the room so that every file is named."""
    if not refused:
        return ""
    head = f"{len(refused)} of {files} files refused: "
    share = max((limit - len(head)) // len(refused) - 2, 24)
    return shorten(head + "; ".join(shorten(shown(r), share) for r in refused), limit)


def _all_leaves(message: email.message.Message) -> Iterator[email.message.Message]:
    # Iterative, so that deep nesting cannot exhaust the stack; unlike ``leaf_parts`` it
    # goes into attached e-mails too, whose files must not be kept either.
    stack = [message]
    while stack:
        part = stack.pop()
        if part.is_multipart():
            stack.extend(reversed(part.get_payload()))
        else:
            yield part


def _holds_a_file(part: email.message.Message) -> bool:
    return is_attachment(part) or part.get_content_maintype() not in ("text", "message")


def _leave_out(part: email.message.Message) -> None:
    payload = part.get_payload(decode=True)
    size = len(payload) if isinstance(payload, bytes) else 0
    name = shown(str(part.get_filename() or ""))
    what = ", ".join(x for x in (name, part.get_content_type(), f"{size} bytes") if x)
    line = f"[attachment left out: {what}]\n"
    del part["Content-Transfer-Encoding"]
    part["Content-Transfer-Encoding"] = "8bit"
    # As the parser holds 8-bit text (surrogate escapes), so that the bytes generator
    # writes the line back as UTF-8 whatever the part's declared charset.
    part.set_payload(line.encode("utf-8").decode("ascii", "surrogateescape"))


def kept_raw(raw: bytes) -> str:
    """The mail as staff may read it: as received, but for the content of every file,
    which a line naming the file, its type and its size replaces. When the mail cannot be
    taken apart and put together again, runs of base64 lines are left out instead."""
    try:
        message = email.message_from_bytes(raw, policy=_KEEP_HEADERS)
        files = [part for part in _all_leaves(message) if _holds_a_file(part)]
        if not files:
            return raw.decode("utf-8", "replace")
        for part in files:
            _leave_out(part)
        return message.as_bytes().decode("utf-8", "replace")
    except Exception:  # noqa: BLE001 — hostile structure (or too deep to write back)
        text = raw.decode("utf-8", "replace")
        return _ENCODED_RUN.sub(
            lambda run: f"[{run[0].count(chr(10))} lines of encoded data left out]\n", text
        )
