from django import forms
from django.utils.translation import gettext_lazy as _

from .conf import app_settings


class MessageForm(forms.Form):
    body = forms.CharField(
        label=_("Your message"),
        strip=False,  # clean_body() trims, so the error for blank text is the same everywhere
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "placeholder": _("Write a message…")}),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["body"].widget.attrs["maxlength"] = app_settings.MAX_MESSAGE_LENGTH


class DisputeForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 4, "required": True}),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["reason"].widget.attrs["maxlength"] = app_settings.MAX_REASON_LENGTH
