from django import forms
from django.conf import settings
from django.core.validators import MaxLengthValidator, URLValidator
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from .conf import app_settings
from .disputes import reason_choices
from .models import Dispute, NotificationSettings, WebhookEndpoint
from .webhooks import signing
from .webhooks.events import EVENT_TYPES


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
    """What went wrong (the store's list), what the customer would like, and their words.
    The choices left out of a post (an older client) count as "other"; the action checks
    every value again."""

    # Browser tests find the text by the label "Reason": no other field's label says it.
    reason_code = forms.ChoiceField(label=_("What went wrong?"), required=False, choices=())
    requested = forms.ChoiceField(
        label=_("What would you like?"), required=False, choices=Dispute.Request.choices
    )
    reason = forms.CharField(
        label=_("Reason"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 4, "required": True}),
    )

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("initial", {"reason_code": "other", "requested": "other"})
        super().__init__(*args, **kwargs)
        # Read per form, so a store that changes its list needs no restart.
        self.fields["reason_code"].choices = reason_choices()
        self.fields["reason"].widget.attrs["maxlength"] = app_settings.MAX_REASON_LENGTH

    def clean_reason_code(self):
        return self.cleaned_data["reason_code"] or "other"

    def clean_requested(self):
        return self.cleaned_data["requested"] or Dispute.Request.OTHER


class CloseDisputeForm(forms.Form):
    """Store staff resolve a dispute with an outcome and a note for the customer; a
    customer closing their own posts neither (the action records "withdrawn"). No outcome
    is chosen for staff, not even the one the customer asked for: they pick one, and the
    form shows what the customer asked for beside it."""

    outcome = forms.ChoiceField(
        label=_("Outcome"),
        required=False,  # the action says it is missing: OutcomeRequired
        choices=[("", _("Choose…")), *Dispute.Outcome.choices],
    )
    note = forms.CharField(
        label=_("Note to the customer"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["outcome"].widget.attrs["required"] = True
        limit = app_settings.MAX_REASON_LENGTH
        self.fields["note"].validators.append(MaxLengthValidator(limit))
        self.fields["note"].widget.attrs["maxlength"] = limit


class PreferencesForm(forms.Form):
    frequency = forms.ChoiceField(
        label=_("E-mail about new messages"),
        choices=NotificationSettings.Frequency.choices,
        widget=forms.RadioSelect,
    )
    language = forms.ChoiceField(label=_("Language of e-mails"), required=False)

    def __init__(self, *args, default_language: str | None = None, **kwargs):
        """``default_language``: the language e-mails are written in when none is chosen
        here (the store's for this person, else the site's), named in that choice."""
        super().__init__(*args, **kwargs)
        names = dict(settings.LANGUAGES)
        default = default_language or settings.LANGUAGE_CODE
        name = str(names.get(default) or names.get(default.split("-")[0]) or default)
        automatic = gettext("The shop's language (%(language)s)") % {"language": name}
        self.fields["language"].choices = [("", automatic), *settings.LANGUAGES]


class HttpsURLField(forms.URLField):
    """An http(s) URL; "shop.example/hooks" means https://shop.example/hooks."""

    default_validators = [URLValidator(schemes=["http", "https"])]

    def __init__(self, **kwargs):
        kwargs.setdefault("assume_scheme", "https")
        super().__init__(**kwargs)


class WebhookEndpointForm(forms.ModelForm):
    events = forms.MultipleChoiceField(
        label=_("events"),
        choices=EVENT_TYPES,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("None ticked: all of them, including event types added later."),
    )
    secret = forms.CharField(
        label=_("secret"),
        required=False,
        max_length=100,
        help_text=_(
            "Signs every delivery (Standard Webhooks), so the receiver can tell it comes "
            "from this store. Leave it empty to have one made; it cannot be changed "
            "afterwards."
        ),
    )

    class Meta:
        model = WebhookEndpoint
        fields = ["url", "description", "events", "secret", "active"]
        field_classes = {"url": HttpsURLField}

    def clean_secret(self):
        secret = self.cleaned_data["secret"].strip()
        if not secret:
            return signing.new_secret()
        try:
            signing.check_secret(secret)
        except ValueError:
            raise forms.ValidationError(
                _("A secret is “whsec_” followed by the base64 of 24 to 64 random bytes."),
                code="invalid_secret",
            ) from None
        return secret
