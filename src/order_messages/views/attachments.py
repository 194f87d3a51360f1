"""Files: the composer's upload and remove (JSON for its script), and opening a file from
a thread or from the link in an e-mail. Every one asks the policy first."""

from __future__ import annotations

from django.contrib.auth.views import redirect_to_login
from django.core import signing
from django.http import JsonResponse
from django.template.defaultfilters import filesizeformat
from django.urls import reverse
from django.utils.translation import gettext
from django.views.decorators.http import require_GET, require_POST

from .. import actions, policy
from ..attachments.files import accepted_labels, check_size
from ..attachments.links import read_file_token
from ..attachments.serving import file_response
from ..conf import app_settings
from ..errors import OrderMessagesError, http_status
from ..guest import guest_orders
from ..models import Attachment
from .access import link_refused


def describe(attachment: Attachment) -> dict:
    """An upload as the composer shows it while it waits to be sent."""
    return {
        "id": attachment.pk,
        "name": attachment.name,
        "size": attachment.size,
        "size_label": filesizeformat(attachment.size),
        "remove_label": gettext("Remove %(name)s") % {"name": attachment.name},
        "discard_url": reverse(
            "order_messages:discard_file", kwargs={"attachment_id": attachment.pk}
        ),
        "content_type": attachment.content_type,
        "url": reverse("order_messages:file", kwargs={"attachment_id": attachment.pk}),
        "thumbnail_url": reverse(
            "order_messages:thumbnail", kwargs={"attachment_id": attachment.pk}
        )
        if attachment.thumbnail
        else None,
    }


def attachment_rules() -> dict:
    """What the composer tells people about files, and its file picker accepts."""
    types = app_settings.ATTACHMENT_TYPES
    return {
        "max_files": app_settings.ATTACHMENT_MAX_FILES,
        "max_bytes": app_settings.ATTACHMENT_MAX_BYTES,
        "accept": ",".join(types),
        "labels": accepted_labels(),
    }


def upload_files(*, access, sub_order, files) -> tuple[list[Attachment], OrderMessagesError | None]:
    """Store each uploaded file for the person's next message here: those stored, and
    the first refusal (the files after it are not tried)."""
    actor = access.actor_in(sub_order)
    uploaded = []
    for upload in files:
        try:
            check_size(name=upload.name, size=upload.size)
            uploaded.append(
                actions.upload_attachment(
                    order_number=access.order.number,
                    vendor_key=sub_order.vendor_key,
                    actor=actor,
                    name=upload.name,
                    content=upload.read(app_settings.ATTACHMENT_MAX_BYTES + 1),
                )
            )
        except OrderMessagesError as error:
            return uploaded, error
    return uploaded, None


@require_POST
def upload(request, number, vendor_key):
    """One file from the composer's picker or a drop, stored before the message is sent."""
    access = policy.access_order(
        user=request.user, order_number=number, guests=guest_orders(request.session)
    )
    sub_order = access.sub_order(vendor_key)
    files = request.FILES.getlist("file")
    if len(files) != 1:
        return JsonResponse({"error": gettext("Send one file, as the field “file”.")}, status=400)
    uploaded, refused = upload_files(access=access, sub_order=sub_order, files=files)
    if refused is not None:
        return JsonResponse(
            {"error": " ".join(refused.messages), "code": refused.code},
            status=http_status(refused),
        )
    return JsonResponse(describe(uploaded[0]), status=201)


@require_POST
def discard(request, attachment_id):
    """The composer's remove button: an upload not sent yet is deleted."""
    attachment = policy.access_attachment(
        user=request.user, attachment_id=attachment_id, guests=guest_orders(request.session)
    )
    return JsonResponse({"discarded": actions.discard_upload(attachment=attachment)})


@require_GET
def file(request, attachment_id, thumbnail=False):
    attachment = policy.access_attachment(
        user=request.user, attachment_id=attachment_id, guests=guest_orders(request.session)
    )
    return file_response(attachment, thumbnail=thumbnail)


@require_GET
def mailed_file(request, token):
    """A file linked from an e-mail. The link expires; until then it opens the file for the
    person it was sent to while they may still read the conversation: an account holder
    signed in (others get 404), a guest by the address the order still names."""
    try:
        link = read_file_token(token)
    except signing.BadSignature as refused:
        return link_refused(request, refused, template="order_messages/file_link_invalid.html")
    if link.for_a_guest:
        attachment = policy.access_attachment_by_address(
            attachment_id=link.attachment_id, email=link.email
        )
    elif not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    else:
        attachment = policy.access_attachment(
            user=request.user,
            attachment_id=link.attachment_id,
            guests=guest_orders(request.session),
        )
    return file_response(attachment)
