"""Files on messages: upload first (checked, cleaned and stored, waiting for a message),
then post them with one; uploads never posted are deleted by the worker."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable, Sequence
from datetime import timedelta

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext

from ..attachments.files import inspect_upload
from ..attachments.scan import scan
from ..attachments.storage import delete_files, save_files
from ..conf import app_settings
from ..errors import AttachmentRefused, AttachmentUnavailable
from ..models import Attachment, Conversation, Message
from ..policy import Actor
from ..queries.attachments import pending
from ..ratelimit import check_upload_rate

logger = logging.getLogger(__name__)


def upload_attachment(
    *, order_number: str, vendor_key: str, actor: Actor, name: str, content: bytes
) -> Attachment:
    """Check a file, store its clean copy and keep it for the person's next message in
    this conversation. Raises AttachmentRefused (with the file's name and why) or
    ScanUnavailable; nothing is stored then."""
    check_upload_rate(actor=actor, order_number=order_number)
    waiting = pending(order_number=order_number, vendor_key=vendor_key, actor=actor).count()
    if waiting >= 2 * app_settings.ATTACHMENT_MAX_FILES:
        raise AttachmentRefused(
            gettext("Too many files are waiting to be sent. Send or remove some first.")
        )
    clean = inspect_upload(name=name, content=content)
    scan(name=clean.name, content=content)
    file_name, thumbnail_name = save_files(
        content=clean.content, extension=clean.extension, thumbnail=clean.thumbnail
    )
    try:
        return Attachment.objects.create(
            order_number=order_number,
            vendor_key=vendor_key,
            uploaded_by=actor.user,
            by_guest=actor.user is None,
            name=clean.name,
            content_type=clean.content_type,
            size=len(clean.content),
            width=clean.width,
            height=clean.height,
            file=file_name,
            thumbnail=thumbnail_name,
            thumbnail_width=clean.thumbnail_width,
            thumbnail_height=clean.thumbnail_height,
            sha256=hashlib.sha256(clean.content).hexdigest(),
        )
    except BaseException:
        delete_files(file_name, thumbnail_name)
        raise


def check_file_count(count: int) -> None:
    """Refuse more files on one message than ATTACHMENT_MAX_FILES."""
    limit = app_settings.ATTACHMENT_MAX_FILES
    if count > limit:
        raise AttachmentRefused(
            gettext("A message can carry at most %(limit)d files (this one has %(n)d).")
            % {"limit": limit, "n": count}
        )


def check_attachment_ids(ids: Iterable[int] | None) -> list[int]:
    """The distinct uploads to post with a message, within ATTACHMENT_MAX_FILES."""
    found = list(dict.fromkeys(int(i) for i in ids or ()))
    check_file_count(len(found))
    return found


def claim_attachments(
    *, message: Message, conversation: Conversation, actor: Actor, ids: Sequence[int]
) -> list[Attachment]:
    """Give the message its uploads, inside the message's transaction: all of them or,
    raising AttachmentUnavailable, none (the transaction then writes no message)."""
    if not ids:
        return []
    claimed = pending(
        order_number=conversation.order_number, vendor_key=conversation.vendor_key, actor=actor
    ).filter(pk__in=ids)
    if claimed.update(message=message, conversation=conversation) != len(ids):
        raise AttachmentUnavailable()
    return list(Attachment.objects.filter(message=message).order_by("pk"))


def discard_upload(*, attachment: Attachment) -> bool:
    """Remove an upload that was not posted (the composer's remove button): its files go,
    its row stays (unusable) until the sweep. Posted files stay: they are part of the
    conversation's record."""
    with transaction.atomic():
        discarded = Attachment.objects.filter(
            pk=attachment.pk, message__isnull=True, discarded_at__isnull=True
        ).update(discarded_at=timezone.now())
        if discarded:
            names = (attachment.file, attachment.thumbnail)
            transaction.on_commit(lambda: delete_files(*names))
    return bool(discarded)


def delete_abandoned_uploads(*, now=None, limit: int = 500) -> int:
    """Delete uploads no message took within ATTACHMENT_ABANDONED_AFTER (the worker calls
    this). Rows first, files after the commit: a post claiming one at the same moment
    either wins (it keeps the file) or is refused with AttachmentUnavailable."""
    cutoff = (now or timezone.now()) - timedelta(seconds=app_settings.ATTACHMENT_ABANDONED_AFTER)
    with transaction.atomic():
        rows = list(
            Attachment.objects.select_for_update(skip_locked=True)
            .filter(message__isnull=True, created_at__lt=cutoff)
            .order_by("created_at")
            .values_list("pk", "file", "thumbnail")[:limit]
        )
        if not rows:
            return 0
        Attachment.objects.filter(pk__in=[pk for pk, *_ in rows], message__isnull=True).delete()
        names = [name for _pk, *files in rows for name in files]
        transaction.on_commit(lambda: _delete_quietly(names))
    return len(rows)


def _delete_quietly(names: list[str]) -> None:
    try:
        delete_files(*names)
    except Exception:  # noqa: BLE001 — the rows are gone; a file left behind is only space
        logger.exception("Could not delete the files of abandoned uploads")
