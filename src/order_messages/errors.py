from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _


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


class ReasonRequired(OrderMessagesError):
    default_message = _("Please give a reason for the dispute.")
    default_code = "reason_required"


class DisputeAlreadyOpen(OrderMessagesError):
    default_message = _("A dispute is already open for this conversation.")
    default_code = "dispute_open"


class InvalidTransition(OrderMessagesError):
    default_code = "invalid_transition"
