from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext


class OrderMessagesError(ValidationError):
    """A refused action, with a message fit to show the person who asked."""

    default_message = _("This action is not possible.")
    default_code = "invalid"

    def __init__(self, message=None, code=None, params=None):
        super().__init__(message or self.default_message, code or self.default_code, params)


class EmptyMessage(OrderMessagesError):
    default_message = _("Please write a message before sending.")
    default_code = "empty"


class MessageTooLong(OrderMessagesError):
    default_code = "too_long"


class UnreadableText(OrderMessagesError):
    """Text no person types and no database column should hold: NUL characters, or halves
    of characters (unpaired surrogates, which only broken encodings produce)."""

    default_message = _(
        "This text contains characters that cannot be stored (a NUL character or broken "
        "UTF-8). Please type it again."
    )
    default_code = "bad_encoding"


class Throttled(OrderMessagesError):
    """Too many messages from one person in a short time (ORDER_MESSAGES_POST_RATE_LIMIT)."""

    default_code = "throttled"

    def __init__(self, *, retry_after: int):
        self.retry_after = retry_after
        super().__init__(
            ngettext(
                "You are writing too quickly. Please try again in %(seconds)d second.",
                "You are writing too quickly. Please try again in %(seconds)d seconds.",
                retry_after,
            )
            % {"seconds": retry_after}
        )


class ReasonRequired(OrderMessagesError):
    default_message = _("Please give a reason for the dispute.")
    default_code = "reason_required"


class DisputeAlreadyOpen(OrderMessagesError):
    default_message = _("A dispute is already open for this conversation.")
    default_code = "dispute_open"


class InvalidTransition(OrderMessagesError):
    default_code = "invalid_transition"


class InvalidChoice(OrderMessagesError):
    """A value that is not one of those offered (a dispute's reason, an outcome)."""

    default_message = _("Please choose one of the options offered.")
    default_code = "invalid_choice"


class OutcomeRequired(OrderMessagesError):
    default_message = _("Please choose the outcome of the dispute.")
    default_code = "outcome_required"


class AttachmentRefused(OrderMessagesError):
    """A file that is not accepted: its type, its content, its name or how many there are.
    The message says which file and why."""

    default_message = _("This file cannot be attached.")
    default_code = "attachment_refused"


class AttachmentTooLarge(AttachmentRefused):
    default_code = "too_large"


class AttachmentUnavailable(OrderMessagesError):
    """An attachment to post with that is gone: never uploaded here, already posted, or
    deleted as abandoned."""

    default_message = _(
        "An attached file is no longer available (it was removed or already sent). "
        "Please attach it again."
    )
    default_code = "attachment_unavailable"


class ScanUnavailable(OrderMessagesError):
    default_message = _(
        "Files cannot be checked for viruses right now, so none can be attached. "
        "Please try again in a few minutes."
    )
    default_code = "scan_unavailable"


#: The HTTP status of each refusal, for the pages and the API alike: a conflict with the
#: conversation's state (409), text that is not text (400), too many in a short time
#: (429); any other refused input is 422.
STATUS_OF_CODE = {
    DisputeAlreadyOpen.default_code: 409,
    InvalidTransition.default_code: 409,
    UnreadableText.default_code: 400,
    Throttled.default_code: 429,
    AttachmentTooLarge.default_code: 413,
    AttachmentUnavailable.default_code: 409,
    ScanUnavailable.default_code: 503,
}


def http_status(error: OrderMessagesError) -> int:
    return STATUS_OF_CODE.get(error.code, 422)
