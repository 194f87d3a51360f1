"""Files: upload one for my next message in a conversation, remove an upload not sent yet,
open a file or its thumbnail. A message or dispute takes its uploads by their ids (its
``attachments``). The same actions and policy as the files of the Messages page."""

from __future__ import annotations

from typing import Annotated

from django.utils.translation import gettext_lazy as _
from ninja import File, Path, Router, Status
from ninja.files import UploadedFile

from .. import actions, policy
from ..attachments.files import check_size
from ..attachments.serving import file_response
from ..conf import app_settings
from . import present
from .auth import guests_of
from .conversations import Number, VendorKey, access_order
from .errors import ApiError, AttachmentPosted, documented
from .schemas import AttachmentOut

router = Router(tags=["Attachments"])

AttachmentId = Annotated[
    int,
    # Within a database integer: a larger id cannot exist and would not fit a query.
    Path(ge=1, le=2**63 - 1, description="The attachment's id.", example=7),
]

# What the stored files are (attachments/files.py keeps a GIF as PNG); thumbnails are WebP.
STORED_TYPES = ("image/jpeg", "image/png", "image/webp", "application/pdf")


def binary(description: str, content_types, *, redirects: bool = False) -> dict:
    """The 200 answer of raw bytes, for the OpenAPI document: django-ninja describes JSON
    bodies only. With ``redirects``, the 302 of files served from other storage
    (ORDER_MESSAGES_ATTACHMENT_SERVE = "redirect")."""
    schema = {"type": "string", "format": "binary"}
    responses = {
        200: {
            "description": description,
            "content": {kind: {"schema": schema} for kind in content_types},
            "headers": {
                "Content-Disposition": {
                    "description": "inline for images, attachment (a download) for PDFs; "
                    "with the file's name.",
                    "required": True,
                    "schema": {"type": "string"},
                },
                "X-Content-Type-Options": {
                    "required": True,
                    "schema": {"type": "string", "enum": ["nosniff"]},
                },
            },
        }
    }
    if redirects:
        responses[302] = {
            "description": 'With ORDER_MESSAGES_ATTACHMENT_SERVE = "redirect": the file is at '
            "the storage's short-lived signed URL.",
            "headers": {
                "Location": {
                    "description": "The signed URL; send no authentication there.",
                    "required": True,
                    "schema": {"type": "string", "format": "uri"},
                }
            },
        }
    return {"responses": responses}


# django-ninja names the multipart body after its own internals; a stable name reads better
# in generated clients.
UPLOAD_BODY = {
    "requestBody": {"content": {"multipart/form-data": {"schema": {"title": "AttachmentUpload"}}}}
}


def access_attachment(request, attachment_id: int):
    return policy.access_attachment(
        user=request.auth, attachment_id=attachment_id, guests=guests_of(request)
    )


@router.post(
    "/orders/{number}/conversations/{vendor_key}/attachments",
    **documented({201: AttachmentOut}, 401, 403, 404, 413, 422, 503, openapi_extra=UPLOAD_BODY),
    operation_id="uploadAttachment",
    summary="Upload a file",
)
def upload_attachment(
    request,
    number: Number,
    vendor_key: VendorKey,
    file: Annotated[
        UploadedFile,
        File(description="One image (JPEG, PNG, WebP, GIF) or PDF, as multipart/form-data."),
    ],
):
    """Upload a file for my next message (or dispute) in this conversation: post it by
    giving the answer's ``id`` in the message's ``attachments``. Only I see it until then,
    and it is deleted if not sent within ORDER_MESSAGES_ATTACHMENT_ABANDONED_AFTER. The
    type is read from the content, never the name or header; images are re-encoded without
    their metadata (EXIF, GPS). Errors: ``attachment_refused`` (422: a type, content or name
    not accepted, or too many uploads waiting), ``too_large`` (413: over
    ORDER_MESSAGES_ATTACHMENT_MAX_BYTES), ``scan_unavailable`` (503: the virus scanner
    cannot be reached; try again later)."""
    access = access_order(request, number)
    sub_order = access.sub_order(vendor_key)
    # The size is known from the upload: refuse a large file before reading it.
    check_size(name=file.name, size=file.size)
    attachment = actions.upload_attachment(
        order_number=access.order.number,
        vendor_key=sub_order.vendor_key,
        actor=access.actor_in(sub_order),
        name=file.name,
        content=file.read(app_settings.ATTACHMENT_MAX_BYTES + 1),
    )
    return Status(201, present.attachment(attachment))


@router.delete(
    "/attachments/{attachment_id}",
    **documented({204: None}, 401, 403, 404, 409, 422),
    operation_id="discardAttachment",
    summary="Remove an upload",
)
def discard_attachment(request, attachment_id: AttachmentId):
    """Delete an upload of mine that no message carries yet. A file that was sent stays
    with the conversation: ``attachment_posted`` (409). Someone else's upload is 404."""
    attachment = access_attachment(request, attachment_id)
    if not actions.discard_upload(attachment=attachment):
        raise AttachmentPosted()
    return Status(204, None)


@router.get(
    "/attachments/{attachment_id}/content",
    **documented(
        {200: None},
        401,
        404,
        422,
        openapi_extra=binary("The file, of its stored type.", STORED_TYPES, redirects=True),
    ),
    operation_id="getAttachmentContent",
    summary="Download a file",
    url_name="attachment_content",
)
def attachment_content(request, attachment_id: AttachmentId):
    """The file (an ``AttachmentOut.url``), for whoever may read its conversation, or an
    upload not yet sent for the person who uploaded it; 404 for everyone else. Images come
    inline, PDFs as downloads, always with ``X-Content-Type-Options: nosniff``. Where the
    store serves files from S3 or the like (ORDER_MESSAGES_ATTACHMENT_SERVE = "redirect"),
    the answer is a 302 to the storage's short-lived signed URL instead."""
    return file_response(access_attachment(request, attachment_id))


@router.get(
    "/attachments/{attachment_id}/thumbnail",
    **documented(
        {200: None},
        401,
        404,
        422,
        openapi_extra=binary(
            "A WebP of at most ORDER_MESSAGES_ATTACHMENT_THUMBNAIL_SIZE pixels on its longer side.",
            ["image/webp"],
        ),
    ),
    operation_id="getAttachmentThumbnail",
    summary="An image's thumbnail",
    url_name="attachment_thumbnail",
)
def attachment_thumbnail(request, attachment_id: AttachmentId):
    """An image's thumbnail (an ``AttachmentOut.thumbnail_url``), with the same access as
    its file. A file without one (a PDF) is 404."""
    attachment = access_attachment(request, attachment_id)
    if not attachment.thumbnail:
        raise ApiError(404, "not_found", _("This file has no thumbnail."))
    return file_response(attachment, thumbnail=True)
