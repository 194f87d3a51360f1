from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from .conf import app_settings
from .models import NotificationSettings


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


class PreferencesForm(forms.Form):
    frequency = forms.ChoiceField(
        label=_("E-mail about new messages"),
        choices=NotificationSettings.Frequency.choices,
        widget=forms.RadioSelect,
    )
    language = forms.ChoiceField(label=_("Language of e-mails"), required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["language"].choices = [("", _("The shop's language"))] + [
            (code, name) for code, name in settings.LANGUAGES
        ]
