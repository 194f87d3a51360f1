"""Replies by e-mail (N4): verify the reply address and the sender, strip the quoted
history, post the rest as the sender's message. Whatever cannot be verified is kept for
staff as unrouted mail; automatic replies and bounces are never posted."""

from __future__ import annotations

import email
import email.policy
import logging
from dataclasses import dataclass
from datetime import timedelta
from email.utils import getaddresses, parseaddr

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import DatabaseError, IntegrityError, transaction
from django.utils import timezone

from .. import actions, policy
from ..conf import app_settings
from ..errors import OrderMessagesError, ScanUnavailable
from ..models import Attachment, Conversation, InboundMail
from ..policy import Actor
from .inbound_files import MailFile, attached_files, kept_raw, refusal_note
from .replies import reply_text
from .tokens import ExpiredReplyAddress, InvalidReplyAddress, read_reply_address

logger = logging.getLogger(__name__)

Status = InboundMail.Status

# sysexits.h, as MTAs read a pipe's exit code.
EX_OK, EX_DATAERR, EX_NOUSER, EX_TEMPFAIL = 0, 65, 67, 75

# Characters of a mail kept for staff (its files are left out before).
RAW_KEPT = 2_000_000

AUTOMATIC_PRECEDENCE = {"bulk", "junk", "list", "auto_reply"}
DAEMONS = {"mailer-daemon", "postmaster", "noreply", "no-reply"}


class RateLimited(Exception):
    """Too many e-mails from this sender lately; the MTA should try again later."""


@dataclass
class Outcome:
    status: str
    reason: str = ""
    inbound: InboundMail | None = None
    exit_code: int = EX_OK


def _clean(text: str, limit: int) -> str:
    return str(text or "").replace("\x00", "")[:limit]


def automatic_reason(message) -> str:
    """Why this looks like mail no person wrote (RFC 3834, bounces, lists), or ""."""
    auto = str(message.get("Auto-Submitted", "")).strip().lower()
    if auto and auto != "no":
        return f"Auto-Submitted: {auto}"
    if str(message.get("Precedence", "")).strip().lower() in AUTOMATIC_PRECEDENCE:
        return "Precedence: " + str(message.get("Precedence")).strip().lower()
    for header in ("X-Autoreply", "X-Autorespond", "X-Auto-Reply"):
        if message.get(header):
            return f"{header} present"
    if message.get("List-Id") or message.get("List-Unsubscribe"):
        return "sent by a mailing list"
    return_path = message.get("Return-Path")
    if return_path is not None and str(return_path).strip() in ("<>", ""):
        return "empty return path (a bounce)"
    if message.get_content_type() == "multipart/report":
        return "delivery report"
    sender = parseaddr(str(message.get("From", "")))[1].lower()
    if sender.partition("@")[0] in DAEMONS:
        return "sent by a mail system"
    own = parseaddr(app_settings.FROM_EMAIL or settings.DEFAULT_FROM_EMAIL)[1].lower()
    if sender.startswith("reply+") or sender == own:
        return "sent by this shop (a loop)"
    return ""


def sender_of(message) -> tuple[str, str]:
    """(the sender's address, "") or ("", why it cannot be trusted). The From header must
    name exactly one address, parse without defects, and not show a display name that is
    another address (``alice@shop.example <carol@elsewhere.example>``): a mail client shows
    the name, the shop would act on the address, and they must be the same person."""
    headers = message.get_all("From") or []
    if len(headers) != 1:
        return "", "no From header" if not headers else "several From headers"
    header = headers[0]
    if getattr(header, "defects", None):
        return "", "malformed From header"
    addresses = getattr(header, "addresses", ())
    if len(addresses) != 1:
        return "", "From names several addresses" if addresses else "From names no address"
    display, address = addresses[0].display_name, addresses[0].addr_spec.lower()
    if "@" in display:
        shown = parseaddr(display)[1].lower()
        if shown != address:
            return "", "From shows another address than it is"
    if not address or "@" not in address:
        return "", "From names no address"
    return address, ""


def reply_addresses(message, envelope_recipient: str = "") -> list[str]:
    """Candidate reply addresses, the envelope's first: it is what the MTA delivered to."""
    fields = [envelope_recipient] if envelope_recipient else []
    for header in ("Delivered-To", "X-Original-To", "To", "Cc"):
        fields += [str(value) for value in message.get_all(header, [])]
    found = []
    for _name, address in getaddresses(fields):
        if address.lower().startswith("reply+") and address not in found:
            found.append(address)
    return found


def _record(
    *, status, reason, parsed=None, raw: bytes | str = b"", sender="", **extra
) -> InboundMail:
    get = (lambda name: str(parsed.get(name, ""))) if parsed is not None else (lambda name: "")
    return InboundMail.objects.create(
        status=status,
        # The reason may quote a header (Auto-Submitted, Precedence).
        reason=_clean(reason, 200),
        sender=_clean(sender, 320),
        recipient=_clean(extra.pop("recipient", get("To")), 320),
        subject=_clean(get("Subject"), 300),
        message_id=_clean(get("Message-ID").strip(), 255),
        # Bytes as received, or text already made fit to keep (``kept_raw``).
        raw=_clean(kept_raw(raw) if isinstance(raw, bytes) else raw, RAW_KEPT),
        **extra,
    )


def _queue(reason: str, exit_code: int = EX_OK, **fields) -> Outcome:
    inbound = _record(status=Status.UNROUTED, reason=reason, **fields)
    logger.info("Inbound e-mail not routed: %s", reason)
    return Outcome(Status.UNROUTED, reason, inbound, exit_code)


def upload_files(
    *, files: list[MailFile], conversation: Conversation, actor: Actor, retry: bool = True
) -> tuple[list[Attachment], list[str]]:
    """Store a reply's files as the sender's uploads for the conversation, as the composer
    does, under the same rules: those stored, and a sentence for each one refused (its
    name and why). Past ATTACHMENT_MAX_FILES stored, the rest are refused unread, and so
    are all after twice as many tries (a mail of a thousand broken images). While the virus
    scanner cannot be reached, ScanUnavailable is raised (nothing stays uploaded) so the
    mail server tries again later; with ``retry`` off (a webhook, which cannot), the files
    are refused and the text posted."""
    limit = app_settings.ATTACHMENT_MAX_FILES
    uploads, refused = [], []
    try:
        for tried, file in enumerate(files):
            if len(uploads) >= limit or tried >= 2 * limit:
                refused.append(f"“{file.name}”: a message can carry at most {limit} files")
            elif file.content is None:
                refused.append(f"“{file.name}” is not a file (a forwarded e-mail?)")
            else:
                try:
                    uploads.append(
                        actions.upload_attachment(
                            order_number=conversation.order_number,
                            vendor_key=conversation.vendor_key,
                            actor=actor,
                            name=file.name,
                            content=file.content,
                        )
                    )
                except ScanUnavailable as error:
                    if retry:
                        raise
                    refused.append(f"“{file.name}”: {' '.join(error.messages)}")
                except OrderMessagesError as error:
                    refused.append(" ".join(error.messages))
    except BaseException:
        discard_uploads(uploads)
        raise
    return uploads, refused


def discard_uploads(uploads: list[Attachment]) -> None:
    """Remove the uploads of a reply that was not posted: nothing of it stays behind."""
    for upload in uploads:
        try:
            actions.discard_upload(attachment=upload)
        except Exception:  # noqa: BLE001 — the sweep of abandoned uploads deletes it later
            logger.exception("Could not discard upload %s of an inbound e-mail", upload.pk)


def check_rate(sender: str) -> None:
    """Refuse a sender's mail past INBOUND_RATE_LIMIT an hour, counting the mail that
    reached one of their conversations through an address issued to them."""
    since = timezone.now() - timedelta(hours=1)
    recent = InboundMail.objects.filter(
        sender=sender, received_at__gte=since, conversation__isnull=False
    ).count()
    if recent >= app_settings.INBOUND_RATE_LIMIT:
        raise RateLimited(sender)


def receive(raw: bytes, *, envelope_recipient: str = "", retry: bool = True) -> Outcome:
    """Handle one inbound e-mail as received (RFC 822 bytes). Raises RateLimited, and
    (with ``retry``) ScanUnavailable while the virus scanner cannot check its files."""
    try:
        return _receive(raw, envelope_recipient=envelope_recipient, retry=retry)
    except (RateLimited, DatabaseError, ScanUnavailable):
        raise  # the MTA tries again later
    except Exception:  # noqa: BLE001 — malformed mail must be kept, not crash the pipe
        logger.exception("Inbound e-mail could not be read")
        return _queue("unreadable", EX_DATAERR, raw=raw[: app_settings.INBOUND_MAX_BYTES])


def _receive(raw: bytes, *, envelope_recipient: str, retry: bool) -> Outcome:
    if len(raw) > app_settings.INBOUND_MAX_BYTES:
        return _queue("too large", EX_DATAERR, raw=raw[:4096])
    try:
        parsed = email.message_from_bytes(raw, policy=email.policy.default)
        sender, untrusted = sender_of(parsed)
        sender = _clean(sender, 320)
        shown_sender = _clean(parseaddr(str(parsed.get("From", "")))[1].lower(), 320)
    except Exception:  # noqa: BLE001 — malformed headers are the sender's problem
        return _queue("unreadable", EX_DATAERR, raw=raw)
    # Kept for staff as the header shows it, even when it cannot be trusted. The mail
    # without its files is made once, here: not inside the post's transaction.
    fields = {"parsed": parsed, "raw": kept_raw(raw), "sender": sender or shown_sender}

    automatic = automatic_reason(parsed)
    if automatic:
        inbound = _record(status=Status.IGNORED, reason=automatic, **fields)
        return Outcome(Status.IGNORED, automatic, inbound)
    message_id = _clean(str(parsed.get("Message-ID", "")).strip(), 255)
    if (
        message_id
        and InboundMail.objects.filter(message_id=message_id, status=Status.POSTED).exists()
    ):
        inbound = _record(status=Status.DUPLICATE, reason="already posted", **fields)
        return Outcome(Status.DUPLICATE, "already posted", inbound)
    if untrusted:
        return _queue(untrusted, **fields)

    candidates = reply_addresses(parsed, envelope_recipient)
    if not candidates:
        return _queue("no reply address", **fields)
    fields["recipient"] = candidates[0]
    try:
        address = read_reply_address(candidates[0], today=timezone.localdate())
    except ExpiredReplyAddress:
        # Signed by us, so the sender is probably real: tell them through the bounce.
        return _queue("expired reply address", EX_NOUSER, **fields)
    except InvalidReplyAddress:
        return _queue("forged or unknown reply address", **fields)

    if not address.issued_to(sender):
        return _queue("sender does not match the reply address", **fields)
    # Counted only now: mail that names the sender, to an address issued to them. Anyone
    # can write another's address into From, but not use up that person's replies.
    check_rate(sender)
    conversation = Conversation.objects.filter(pk=address.conversation_id).first()
    if conversation is None:
        return _queue("conversation no longer exists", **fields)
    fields["conversation"] = conversation
    user = None
    if address.user_id is not None:
        user = get_user_model().objects.filter(pk=address.user_id).first()
        if user is None:
            return _queue("the sender may no longer write here", **fields)
    # The policy decides with the store's data of now: the account's address, the guest
    # address the order names, the vendor's staff.
    found = policy.viewer_by_address(conversation=conversation, user=user, email=sender)
    if found is None:
        return _queue("the sender may no longer write here", **fields)

    body = reply_text(parsed)
    files = attached_files(parsed)
    if not body and not files:
        return _queue("nothing but quoted text", **fields)
    actor = found.viewer.actor_in(found.sub_order)
    uploads, refused = upload_files(
        files=files, conversation=conversation, actor=actor, retry=retry
    )
    # Refused files do not hold back the text; staff see which and why.
    note = refusal_note(refused, files=len(files))
    if not body and not uploads:
        return _queue(f"no text, and {note}", **fields)
    posted = None
    try:
        with transaction.atomic():
            message = actions.post_message(
                order=found.viewer.order,
                sub_order=found.sub_order,
                actor=actor,
                body=body,
                attachments=[upload.pk for upload in uploads],
            )
            inbound = _record(status=Status.POSTED, reason=note, posted=message, **fields)
        posted = message
    except IntegrityError:
        if (
            message_id
            and InboundMail.objects.filter(message_id=message_id, status=Status.POSTED).exists()
        ):  # the same e-mail, posted meanwhile by a parallel delivery
            inbound = _record(status=Status.DUPLICATE, reason="already posted", **fields)
            return Outcome(Status.DUPLICATE, "already posted", inbound)
        return _queue("could not be posted (conflict); please post it by hand", **fields)
    except OrderMessagesError as error:
        return _queue(f"refused: {' '.join(error.messages)}", **fields)
    finally:
        if posted is None:
            discard_uploads(uploads)
    return Outcome(Status.POSTED, note, inbound)


def receive_from_webhook(raw: bytes, *, envelope_recipient: str = "") -> Outcome:
    """Inbound webhooks cannot ask the provider to retry later: rate-limited mail is kept,
    and files the virus scanner cannot check now are refused (the text is posted)."""
    try:
        return receive(raw, envelope_recipient=envelope_recipient, retry=False)
    except RateLimited as limited:
        parsed = email.message_from_bytes(raw, policy=email.policy.default)
        return _queue("rate limited", parsed=parsed, raw=raw, sender=str(limited.args[0]))


def handle_anymail_inbound(sender, event, esp_name, **kwargs) -> None:
    """``anymail.signals.inbound`` receiver: every provider's inbound webhook lands here."""
    message = event.message
    raw = message.as_bytes() if message is not None else b""
    envelope = getattr(message, "envelope_recipient", None) or ""
    outcome = receive_from_webhook(raw, envelope_recipient=envelope)
    logger.info("Inbound e-mail from %s webhook: %s %s", esp_name, outcome.status, outcome.reason)
