"""Where attachments are kept: the Django storage ORDER_MESSAGES_ATTACHMENT_STORAGE names
(local files by default; S3 and the like through django-storages), under random names."""

from __future__ import annotations

import secrets

from django.core.files.base import ContentFile
from django.core.files.storage import storages
from django.utils import timezone

from ..conf import app_settings


def attachment_storage():
    return storages[app_settings.ATTACHMENT_STORAGE]


def save_files(*, content: bytes, extension: str, thumbnail: bytes | None) -> tuple[str, str]:
    """Store a file (and its thumbnail) under a new random name; returns both names. The
    person's name for the file is never part of it, so it cannot steer where it goes."""
    storage = attachment_storage()
    key = secrets.token_urlsafe(18)
    folder = f"{app_settings.ATTACHMENT_FOLDER}/{timezone.now():%Y/%m}"
    name = storage.save(f"{folder}/{key}.{extension}", ContentFile(content))
    thumbnail_name = ""
    if thumbnail is not None:
        try:
            thumbnail_name = storage.save(f"{folder}/{key}.thumb.webp", ContentFile(thumbnail))
        except Exception:
            storage.delete(name)
            raise
    return name, thumbnail_name


def delete_files(*names: str) -> None:
    storage = attachment_storage()
    for name in names:
        if name:
            storage.delete(name)
