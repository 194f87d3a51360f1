from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from .conversations import Conversation, Message


class Attachment(models.Model):
    """A file on a message: uploaded first (``message`` empty, visible to its uploader
    only), then claimed by the message it is posted with, in the message's transaction.

    The file itself lives in the storage ``ATTACHMENT_STORAGE`` names, under a random key;
    the row keeps its name as the person gave it, the type sniffed from its content, and
    for images the size and a thumbnail."""

    # Where it was uploaded to: the conversation may not exist before its first message.
    order_number = models.CharField(max_length=128)
    vendor_key = models.CharField(max_length=128)
    conversation = models.ForeignKey(
        Conversation, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    message = models.ForeignKey(
        Message, null=True, blank=True, on_delete=models.CASCADE, related_name="attachments"
    )
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    # Uploaded by the order's guest customer (no account). Said, not inferred from an
    # empty uploaded_by: a deleted account's uploads must not become the guest's.
    by_guest = models.BooleanField(default=False)
    name = models.CharField(max_length=200)
    content_type = models.CharField(max_length=100)
    size = models.PositiveBigIntegerField()
    width = models.PositiveIntegerField(null=True, blank=True)
    height = models.PositiveIntegerField(null=True, blank=True)
    # Storage names, not contents: files never go into the database.
    file = models.CharField(max_length=300)
    thumbnail = models.CharField(max_length=300, blank=True)
    thumbnail_width = models.PositiveIntegerField(null=True, blank=True)
    thumbnail_height = models.PositiveIntegerField(null=True, blank=True)
    sha256 = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)
    # Removed by its uploader before it was sent: the files are gone, the row stays until
    # the sweep, so that uploads removed again still count against the upload rate.
    discarded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            # The worker's sweep of uploads that were never posted.
            models.Index(
                fields=["created_at"],
                condition=Q(message__isnull=True),
                name="om_attachment_pending",
            ),
            # The upload rate: a person's latest uploads.
            models.Index(fields=["uploaded_by", "-created_at"], name="om_attachment_uploader"),
        ]
        ordering = ["pk"]
        verbose_name = _("attachment")
        verbose_name_plural = _("attachments")

    def __str__(self):
        return self.name

    @property
    def is_image(self) -> bool:
        return self.content_type.startswith("image/")
